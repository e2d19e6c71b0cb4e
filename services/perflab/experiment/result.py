"""What one A/B experiment found: its arms, their figures, and what the run decided."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from perflab.experiment.arm import ArmRun, Sample
from perflab.experiment.config import Config
from perflab.experiment.effects import FigureResult, key_figure
from perflab.machine import Machine


@dataclass
class Result:
    config: Config
    technique: dict[str, Any]
    measured_seconds: float = 0.0  # per arm, after any extension
    arms: list[ArmRun] = field(default_factory=list)
    server: dict[str, dict[str, float | None]] = field(default_factory=dict)  # arm -> figs
    why: dict[str, dict[str, str]] = field(default_factory=dict)  # arm -> fig -> why none
    figures: list[FigureResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the run decided, and why
    samples: list[Sample] = field(default_factory=list)  # every request, for the charts
    started: float = 0.0
    ended: float = 0.0
    machine: Machine | None = None  # its speed just before and after the arms

    def key(self) -> tuple[FigureResult | None, float | None]:
        return key_figure(self.config.flag, self.figures)
