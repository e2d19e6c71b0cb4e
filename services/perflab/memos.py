"""bounded_cache's two memos in one threaded process (Django's and Flask's workers).

Each service wraps its report function in two stock memo decorators, one unbounded and
one bounded (functools in Django, cachetools in Flask); both expose `cache_info()` and
`cache_clear()`. `MemoPair` holds them: only the variant in use keeps a memo (the first
call of the other variant empties it, as a deploy would), and after each call
`perflab_memo_entries{variant}` says how many reports each holds.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Protocol

from perflab.technique_metrics import MEMO_ENTRIES, VARIANTS


class _CacheInfo(Protocol):
    @property
    def currsize(self) -> float: ...  # cachetools types it float (getsizeof sizes)


class Memo(Protocol):
    """A memoised function: `functools.cache`, `lru_cache`, or `cachetools.cached(info=True)`."""

    def __call__(self, key: Any, /) -> Any: ...
    def cache_info(self) -> _CacheInfo: ...
    def cache_clear(self) -> None: ...


class MemoPair:
    def __init__(self, naive: Memo, optimised: Memo) -> None:
        self._memos = {"naive": naive, "optimised": optimised}
        self._gauges = {v: MEMO_ENTRIES.labels(variant=v) for v in VARIANTS}
        for gauge in self._gauges.values():  # series exist before the first report
            gauge.set(0)

    def entries(self) -> dict[str, int]:
        """How many reports each memo of this process holds."""
        return {v: int(memo.cache_info().currsize) for v, memo in self._memos.items()}

    def recall(self, variant: str, key: Hashable) -> Any:
        """The memo of `variant` asked for `key`; the other memo emptied first."""
        for name, memo in self._memos.items():
            if name != variant and memo.cache_info().currsize:
                memo.cache_clear()
                self._gauges[name].set(0)
        memo = self._memos[variant]
        value = memo(key)
        self._gauges[variant].set(memo.cache_info().currsize)
        return value
