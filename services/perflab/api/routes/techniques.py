"""`GET /techniques`: what each technique does, where, and which metric shows it."""

from __future__ import annotations

from fastapi import APIRouter

from perflab.api.deps import Flags
from perflab.api.techniques import REGISTRY

router = APIRouter(tags=["techniques"])


@router.get("/techniques")
async def list_techniques(flags: Flags) -> dict[str, list[dict[str, object]]]:
    return {
        "techniques": [
            {**t.describe(), "enabled": flags.enabled(t.name)} for t in REGISTRY.values()
        ]
    }
