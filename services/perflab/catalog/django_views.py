"""Techniques that exist in Django only: its templates, static files, connections and
middleware. Each is switched per request by its own flag (two template engines, two
database aliases, a middleware that runs the extra chain only when the flag is off)."""

from __future__ import annotations

from perflab.catalog.spec import Implementation, Load, TechniqueSpec

_HOT_BOOKS = {"book_id": 20}  # a hot set, so caches and connections are reused

TEMPLATE_FRAGMENT_CACHE = TechniqueSpec(
    name="template_fragment_cache",
    method="GET",
    path="/books/{book_id}/page",
    summary="A server-rendered book page with an expensive best-sellers sidebar.",
    lesson="Wrap the page's expensive sidebar in {% cache %} instead of rendering it each time.",
    metric='perflab_db_queries_per_request{route="/books/{book_id}/page"}',
    expected="statements per page 2 -> 1 on hits (the sidebar's aggregate skipped); p95 lower",
    key_figure="p50",
    promise=None,
    signals=("queries_per_request", "cache_hit_ratio"),
    load=Load(kind="html", ids=_HOT_BOOKS),
    implementations={
        "django": Implementation(
            naive="The template renders the sidebar every time: its aggregate query runs per page.",
            optimised="`{% cache 60 sidebar %}` around the sidebar: rendered HTML from Redis; "
            "the lazy queryset is never evaluated on a hit.",
        ),
    },
)

CACHED_TEMPLATES = TechniqueSpec(
    name="cached_templates",
    method="GET",
    path="/books/shelf",
    summary="An HTML shelf of books rendered through a base template and includes.",
    lesson="Use the cached template loader instead of reading and compiling templates per request.",
    metric='perflab_template_loads_total{engine="uncached"}',
    expected="template files read and compiled per page 6 -> 0; render ~2-4x cheaper",
    key_figure="p50",
    promise=None,
    signals=("template_loads", "cpu"),
    load=Load(query={"limit": (50, 50)}, kind="html"),
    implementations={
        "django": Implementation(
            naive="A template engine whose loaders read and compile every template file on "
            "every render.",
            optimised="A second engine with `django.template.loaders.cached.Loader`: each "
            "template compiled once per process.",
        ),
    },
)

STATIC_FILES = TechniqueSpec(
    name="static_files",
    method="GET",
    path="/storefront",
    summary="A storefront page linking its CSS and JavaScript.",
    lesson="Serve CSS/JS with WhiteNoise (hashed names, compressed, immutable) instead of "
    "Django's static view.",
    metric="perflab_http_requests_total for /static/{path} vs /assets/{path}",
    expected="asset requests per repeat page view 2 (304 revalidations) -> 0; bytes ~4x fewer",
    key_figure="asset_requests_per_page",
    promise=None,
    signals=("asset_requests", "bytes_sent"),
    load=Load(kind="html", assets=True),
    implementations={
        "django": Implementation(
            naive="Links `/assets/...`: `django.views.static.serve`, no Cache-Control, so a "
            "browser revalidates every asset on every page.",
            optimised="Links `{% static %}` names: WhiteNoise serves hashed, pre-compressed "
            "files with `Cache-Control: max-age=31536000, immutable`.",
        ),
    },
)

PERSISTENT_CONNECTIONS = TechniqueSpec(
    name="persistent_connections",
    method="GET",
    path="/books/{book_id}",
    summary="One book with its author (a single indexed lookup).",
    lesson="Keep database connections open across requests (CONN_MAX_AGE) instead of one "
    "per request.",
    metric="perflab_db_connections_opened_total{kind}",
    expected='kind="direct" opened/s = requests/s -> kind="persistent" ~0/s; p50 a few ms lower',
    key_figure="p50",
    promise=None,
    signals=("connections_opened", "http_p95"),
    load=Load(
        keys=("id", "title", "isbn", "genre", "published_year", "price_cents", "author"),
        ids=_HOT_BOOKS,
    ),
    implementations={
        "django": Implementation(
            naive="A database alias with `CONN_MAX_AGE=0` (Django's default): a new Postgres "
            "connection per request, closed at its end.",
            optimised="An alias with `CONN_MAX_AGE=60` + `CONN_HEALTH_CHECKS`: each worker "
            "thread keeps its connection across requests.",
        ),
    },
)

MIDDLEWARE_DIET = TechniqueSpec(
    name="middleware_diet",
    method="GET",
    path="/books/{book_id}/price",
    summary="A book's price: a tiny JSON answer that needs no session, auth or CSRF.",
    lesson="Keep only the middleware an endpoint needs instead of the full default stack.",
    metric="perflab_middleware_calls_total",
    # What the stack costs is CPU: measured as requests/s in a closed loop (at a user's
    # pace a 1.6 ms page hides it in noise: p50 0.95x, CI 0.83-1.06x).
    expected="middleware run per request 9 -> 0 around the view; more requests/s (CPU, no I/O)",
    key_figure="rps",
    promise=None,
    signals=("middleware_calls", "http_p95"),
    load=Load(keys=("id", "price_cents"), ids=_HOT_BOOKS),
    implementations={
        "django": Implementation(
            naive="Django's default stack (security, sessions, common, CSRF, auth, messages, "
            "clickjacking) plus a typical project's extras, each run per request.",
            optimised="The minimal stack: only the lab's telemetry and error handling.",
        ),
    },
)
