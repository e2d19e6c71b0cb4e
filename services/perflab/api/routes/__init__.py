"""Thin routers of the service itself (health, metrics, flags, techniques)."""
