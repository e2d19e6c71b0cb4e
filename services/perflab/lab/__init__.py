"""The native stack runner and the `lab` CLI."""
