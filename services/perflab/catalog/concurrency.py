"""Techniques about waiting: slow calls, CPU-bound work, work that can happen later."""

from __future__ import annotations

from perflab.catalog.spec import Implementation, Load, TechniqueSpec

BACKGROUND_OFFLOAD = TechniqueSpec(
    name="background_offload",
    method="POST",
    path="/orders/{order_id}/confirm",
    summary="Confirm an order: send the confirmation e-mail (a slow SMTP call).",
    lesson="Send the confirmation e-mail from a Celery task and answer 202.",
    metric='perflab_http_request_duration_seconds{route="/orders/{order_id}/confirm"}',
    expected="p95 from above the e-mail delay (0.2 s) to a few ms; 1 task enqueued per call",
    key_figure="p50",
    promise=None,
    signals=("tasks_enqueued", "celery_tasks", "http_p95"),
    load=Load(statuses=(200, 202), keys=("order_id", "status", "via")),
    implementations={
        "fastapi": Implementation(
            naive="Send the e-mail inline (wait for SMTP), INSERT the confirmation, answer 200.",
            optimised="Enqueue a Celery task and answer 202 with task_id and /tasks/{task_id}.",
        ),
        "django": Implementation(
            naive="Send the e-mail inline in the gunicorn worker, INSERT the confirmation, "
            "answer 200.",
            optimised="Enqueue the same Celery task (same worker) and answer 202 with task_id.",
        ),
        "flask": Implementation(
            naive="Send the e-mail inline in the gunicorn worker, INSERT the confirmation "
            "(SQLAlchemy), answer 200.",
            optimised="Enqueue the same Celery task (same worker) and answer 202 with task_id.",
        ),
    },
)

ASYNC_IO = TechniqueSpec(
    name="async_io",
    method="GET",
    path="/upstream/quote",
    summary="Price quote for a book from a slow upstream service (simulated latency).",
    lesson="Await the slow upstream call instead of blocking the event loop.",
    metric="perflab_event_loop_lag_seconds",
    expected="loop lag ~latency x concurrency -> ~0; one process serves K quotes at once",
    key_figure="rps",
    promise=None,
    signals=("loop_lag", "upstream_in_flight"),
    load=Load(
        query={"book_id": (1, 200), "quantity": (1, 3)},
        keys=("book_id", "quantity", "total_cents"),
    ),
    implementations={
        "fastapi": Implementation(
            naive="`time.sleep` inside `async def`: the event loop is blocked for the whole wait.",
            optimised="`await asyncio.sleep`: the loop serves other requests while waiting.",
        ),
    },
)

RESILIENCE = TechniqueSpec(
    name="resilience",
    method="GET",
    path="/upstream/stock",
    summary="A book's stock from a flaky upstream (faults set with PUT /upstream/fault).",
    lesson="Give upstream calls a deadline, retries with backoff and jitter, and a circuit "
    "breaker.",
    metric="perflab_upstream_calls_total",
    expected="upstream down: calls/s = requests/s -> one trial per 5 s, 503s in ~1 ms; "
    "spikes: p95 from the spike to ~the deadline",
    # Measured under spikes (experiment_fault): with a healthy upstream both paths are equal.
    key_figure="p95",
    promise=2.0,
    signals=("upstream_calls", "upstream_retries", "breaker_state", "breaker_rejections"),
    load=Load(
        query={"book_id": (1, 200)},
        keys=("book_id", "in_stock", "warehouse"),
        fails_fast_on="upstream",
    ),  # fmt: skip
    implementations={
        "fastapi": Implementation(
            naive="Await the upstream as it comes: no deadline, no retry; every request calls.",
            optimised="0.25 s deadline per attempt, 3 attempts with exponential backoff and "
            "jitter (tenacity), circuit breaker (purgatory): 5 failures open it for 5 s.",
        ),
        "django": Implementation(
            naive="Call the upstream from the request thread as it comes: no deadline, no "
            "retry; every request calls.",
            optimised="The API's policy on threads: 0.25 s deadline per attempt, tenacity's "
            "`Retrying` (3 attempts), purgatory's sync breaker per worker process.",
        ),
        "flask": Implementation(
            naive="Call the upstream from the request thread as it comes: no deadline, no "
            "retry; every request calls.",
            optimised="The API's policy on threads: 0.25 s deadline per attempt, tenacity's "
            "`Retrying` (3 attempts), purgatory's sync breaker per worker process.",
        ),
    },
    # One call in ten: p95 falls among the spiked (naive) and the once-retried (optimised)
    # requests, well clear of the 1 % retried twice.
    experiment_fault={"spike_rate": 0.1, "spike_seconds": 1.0},
)

CPU_OFFLOAD = TechniqueSpec(
    name="cpu_offload",
    method="GET",
    path="/compute/fibonacci-check",
    summary="Fibonacci membership check of n, testing every integer in 1..n (CPU-bound).",
    lesson="Run CPU-bound work in a process pool instead of on the event loop.",
    metric="perflab_event_loop_lag_seconds",
    expected="loop lag ~40 ms per call -> ~0; throughput scales with cores instead of 1",
    key_figure="loop_delay",
    promise=None,
    signals=("loop_lag", "cpu"),
    load=Load(query={"n": (50_000, 200_000)}, keys=("n", "is_fibonacci")),
    implementations={
        "fastapi": Implementation(
            naive="Compute inline in the coroutine: the event loop is blocked for ~40 ms per call.",
            optimised="`run_in_executor` on a lazily spawned ProcessPoolExecutor: the loop "
            "stays free.",
        ),
    },
)
