"""The FastAPI service: routes, techniques (naive vs optimised), flags, telemetry."""
