"""The technique registry: flag name -> technique.

Adding a technique is one module in this folder and one line below.
"""

from __future__ import annotations

from perflab.api.techniques import (
    n_plus_one,
)
from perflab.api.techniques.base import Technique

REGISTRY: dict[str, Technique] = {t.name: t for t in (n_plus_one.TECHNIQUE,)}
