"""perflab's Locust entry: user classes, load shapes, load-side metrics.

    locust -f loadgen/locustfile.py --config loadgen/locust.conf           # web UI
    locust -f loadgen/locustfile.py --headless -u 20 -t 1m MixedBrowse     # one class
    locust -f loadgen/locustfile.py --headless -u 50 -t 5m --shape spike   # a shape
    ./scripts/lab load --scenario mixed --shape ramp --users 50            # the lab way

User classes: MixedBrowse, ExportUser, WriterUser, EveryTechniqueUser (every technique
the API lists; `--technique a,b` narrows it), CapacityUser (`/healthz` flat out) and one
`<Technique>User` per technique (NPlusOneUser, DbIndexUser, ...). With `--class-picker`
the UI offers all of them and the four shapes (RampShape, StepShape, SpikeShape,
SoakShape); otherwise `--shape` / `LOCUST_SHAPE` picks the shape, and none means a
constant `--users`. Load-side metrics: http://127.0.0.1:9646/metrics
(`PERFLAB_LOADGEN_METRICS_PORT`, 0 disables; the master only in distributed mode).
`--think S` (`PERFLAB_THINK_SECONDS`) gives every user the same pace; 0 is a closed
loop, as `lab experiment` and `lab profile --flag` use. `--rate R`
(`PERFLAB_RATE_PER_USER`) caps every user at R tasks per second instead (Locust's
`constant_throughput`): a fixed request rate while the service keeps up. `--seed N`
(`PERFLAB_LOAD_SEED`) makes every run ask for the same ids, pages and keys, user by
user in start order, as `lab experiment` does.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from locust import constant, constant_throughput, events
from locust.runners import WorkerRunner

# Locust imports this file by path; make the `loadgen` package importable from anywhere.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loadgen import metrics  # noqa: E402
from loadgen.base_user import reset_catalog  # noqa: E402
from loadgen.shapes import SHAPES, RampShape, SoakShape, SpikeShape, StepShape  # noqa: E402
from loadgen.users import (  # noqa: E402
    TECHNIQUE_USERS,
    CapacityUser,
    EveryTechniqueUser,
    ExportUser,
    MixedBrowse,
    WriterUser,
)

# Locust discovers user classes among this module's names: one per technique.
globals().update({cls.__name__: cls for cls in TECHNIQUE_USERS.values()})

__all__ = [
    "CapacityUser", "EveryTechniqueUser", "ExportUser", "MixedBrowse", "WriterUser",
    "RampShape", "SoakShape", "SpikeShape", "StepShape",
    *(cls.__name__ for cls in TECHNIQUE_USERS.values()),
]  # fmt: skip


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    parser.add_argument(
        "--shape",
        choices=["", *SHAPES],
        default="",
        env_var="LOCUST_SHAPE",
        help="Load shape: ramp, step, spike or soak (empty: constant --users).",
        include_in_web_ui=False,  # the UI's class picker offers the shapes
    )
    parser.add_argument(
        "--technique",
        default="",
        env_var="LOCUST_TECHNIQUE",
        help="EveryTechniqueUser: only these techniques (comma-separated names).",
    )
    parser.add_argument(
        "--think",
        type=float,
        default=None,
        env_var="PERFLAB_THINK_SECONDS",
        help="Every user's wait between requests, in s (0: closed loop); unset keeps each "
        "class's own pace.",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        env_var="PERFLAB_RATE_PER_USER",
        help="Every user's requests per second (a fixed rate while the service keeps up); "
        "wins over --think.",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        env_var="PERFLAB_LOAD_SEED",
        help="Seed of the users' ids, pages and keys: the same requests in every run "
        "(unset: fresh draws).",
    )


@events.init.add_listener
def _init(environment: Any, runner: Any = None, **_: Any) -> None:
    available = environment.available_shape_classes or {}
    for shape in available.values():
        shape.runner = runner
    # Locust makes the first shape it finds the active one; the chosen one is instead.
    options = environment.parsed_options
    wanted = getattr(options, "shape", "") if options is not None else ""
    by_name = {shape.name: shape for shape in available.values()}
    environment.shape_class = by_name.get(wanted) if wanted else None
    think = getattr(options, "think", None) if options is not None else None
    rate = getattr(options, "rate", None) if options is not None else None
    if rate is not None:
        for user_class in environment.user_classes:
            user_class.wait_time = constant_throughput(rate)
    elif think is not None:
        for user_class in environment.user_classes:
            user_class.wait_time = constant(think)
    if not isinstance(runner, WorkerRunner):
        metrics.start_exporter(environment)


@events.test_start.add_listener
def _test_start(**_: Any) -> None:
    reset_catalog()
