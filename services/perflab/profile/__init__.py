"""Where the time and the memory go: profiles of the lab's running services.

Two halves, one package:

- **Per-request profiles**, framework-neutral (`capture`, `memory`, `store`): a request
  carrying `X-Profile: cpu` is profiled with pyinstrument, `X-Profile: memory` with
  tracemalloc, and the profile is stored in Redis for `GET /profiles/{id}`. A service
  adds a thin adapter (the API's is `api/middleware/profiling.py`, pure ASGI); Django
  and Flask add theirs. These modules import only the settings, the standard library
  and pyinstrument: they sit beside `telemetry` in the layering, below every service.
- **Reading and drawing samples** (`speedscope`, `flamegraph`): py-spy's speedscope
  JSON as stacks and function tables; weighted stacks as a flame graph SVG. `lab
  profile` (lab/profiling/, a lab tool on top) samples live processes with py-spy and
  draws its results with these.
"""
