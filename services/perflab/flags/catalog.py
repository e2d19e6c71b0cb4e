"""The flags the lab knows: one per technique of the catalog; on = optimised."""

from __future__ import annotations

from perflab.catalog import TECHNIQUES

FLAGS: dict[str, str] = {name: spec.lesson for name, spec in TECHNIQUES.items()}
