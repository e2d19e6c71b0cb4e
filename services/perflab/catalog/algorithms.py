"""Techniques from the guides' memory and algorithm chapters: what a process holds, and
how much of it a request has to look at."""

from __future__ import annotations

import itertools

from perflab.catalog.spec import Implementation, Load, TechniqueSpec

# The words the seed builds book titles from (db/seed.py), for the search load.
TITLE_WORDS = tuple(
    "amber river quiet engine lantern harbor silver orchard winter signal meadow "
    "archive compass ember falcon garden horizon island journey kettle library marble "
    "northern ocean pepper quartz raven saddle thunder umbrella velvet willow yarrow zephyr".split()
)
# What the load searches for: every word alone, and every pair of neighbours (two posting
# lists to intersect), about half and half.
SEARCHES = TITLE_WORDS + tuple(f"{a} {b}" for a, b in itertools.pairwise(TITLE_WORDS))

BOUNDED_CACHE = TechniqueSpec(
    name="bounded_cache",
    method="GET",
    path="/authors/{author_id}/report",
    summary="An author's books published between two years, with review counts and ratings.",
    lesson="Memoise reports in a bounded LRU instead of a dict that grows with every new key.",
    metric="perflab_memo_entries",
    expected="memo entries level off at the LRU's size instead of growing with every new "
    "(author, since, until); RSS stops climbing and ApiMemoryGrowing stays quiet",
    key_figure="memo_entries",
    promise=None,
    signals=("memo_entries", "rss"),
    # Thousands of distinct keys, so an unbounded memo keeps growing under load.
    load=Load(
        query={"since": (1950, 2025), "until": (1950, 2025)},
        keys=("author_id", "since", "until", "books"),
    ),
    implementations={
        "fastapi": Implementation(
            naive="A per-process dict memo keyed by (author, since, until): never evicts.",
            optimised="A per-process cachetools LRU of 256 reports: the least recent goes.",
        ),
        "django": Implementation(
            naive="`functools.cache` on the report function: one entry per key, forever.",
            optimised="`functools.lru_cache(maxsize=256)`: the least recent report goes.",
        ),
        "flask": Implementation(
            naive="A per-process dict memo keyed by (author, since, until): never evicts.",
            optimised="A per-process cachetools LRU of 256 reports behind a lock (gthread "
            "workers share it): the least recent goes.",
        ),
    },
)

COMPACT_OBJECTS = TechniqueSpec(
    name="compact_objects",
    method="GET",
    path="/catalogue/stats",
    summary="Price and year statistics of every book (or one genre), from an in-memory catalogue.",
    lesson="Hold the in-memory catalogue as __slots__ objects instead of one dict per book.",
    metric="perflab_catalogue_bytes",
    expected="~3x fewer bytes per book held (a dict per row 280 B -> a __slots__ object "
    "89 B); ~3.8 MB less per API process at scale 1",
    key_figure="catalogue_bytes",
    promise=2.0,
    signals=("catalogue_bytes", "rss"),
    load=Load(keys=("books", "price_cents", "published_year")),
    implementations={
        "fastapi": Implementation(
            naive="Every book as a dict (keys stored per row), loaded once per process.",
            optimised="Every book as a frozen __slots__ dataclass, loaded once per process.",
        ),
        "django": Implementation(
            naive="Every book as a model instance (`only()` the six fields), loaded once "
            "per worker process.",
            optimised="Every book as a named tuple (`values_list(named=True)`), loaded once "
            "per worker process.",
        ),
        "flask": Implementation(
            naive="Every book as a mapped entity (`select(Book)`, `load_only` the six "
            "columns), kept after its session closed.",
            optimised="Every book as a `Row` of the six columns, loaded once per worker process.",
        ),
    },
)

SEARCH_INDEX = TechniqueSpec(
    name="search_index",
    method="GET",
    path="/books/search",
    summary="Books whose title has every word of the query, by id.",
    lesson="Look words up in an inverted index built once instead of scanning every title.",
    metric="perflab_search_items_examined_total",
    expected="items examined per search: every title (20k at scale 1) -> the shortest "
    "word's postings (~1.2k); same books in the same order",
    key_figure="items_examined_per_request",
    promise=5.0,
    signals=("search_examined", "http_p95"),
    load=Load(choices={"q": SEARCHES}, keys=("query", "total", "books")),
    implementations={
        "fastapi": Implementation(
            naive="Tokenises and checks every title of the catalogue on each request.",
            optimised="An inverted index (word -> sorted book ids) built once; posting "
            "lists intersected from the shortest.",
        ),
        "django": Implementation(
            naive="Tokenises and checks every title (loaded once per worker with "
            "`values_list`) on each request.",
            optimised="The same inverted index, built once per worker process.",
        ),
        "flask": Implementation(
            naive="Tokenises and checks every title (loaded once per worker with one "
            "`select`) on each request.",
            optimised="The same inverted index, built once per worker process.",
        ),
    },
)
