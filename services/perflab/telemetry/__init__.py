"""Metrics, traces and logs of the lab's own services."""
