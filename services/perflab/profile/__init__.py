"""Where the time and the memory go: profiles of the lab's running services.

Two halves, one package:

- **Per-request profiles**, framework-neutral (`capture`, `memory`, `store`): a request
  carrying `X-Profile: cpu` is profiled with pyinstrument, `X-Profile: memory` with
  tracemalloc, and the profile is stored in Redis for `GET /profiles/{id}`. A service
  adds a thin adapter (the API's is `api/middleware/profiling.py`, pure ASGI); Django
  and Flask add theirs. These modules import only the settings, the standard library
  and pyinstrument: they sit beside `telemetry` in the layering, below every service.
- **`lab profile`**, a lab tool (`targets`, `sampler`, `speedscope`, `flamegraph`,
  `compare`, `window`, `report`, `cli`): samples a live process with py-spy, or asks a
  service for a memory window, and writes flame graphs and tables. It imports the lab
  and is imported by nothing but the CLI.
"""
