"""Postgres access: the pool, per-request query accounting, schema and seed data."""
