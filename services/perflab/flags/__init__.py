"""Runtime feature flags: one per technique, kept in Redis, mirrored in every process."""
