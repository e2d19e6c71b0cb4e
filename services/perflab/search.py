"""Exact word search over book titles: a scan per query, or an inverted index built once.

The search_index technique's two algorithms, shared by every service that implements it
(each loads the titles its own way). A title matches when it holds every word of the
query; words are runs of letters and digits, lowercased. Both algorithms answer the
matching ids in ascending order and say how many items they examined: titles for the
scan, posting entries and membership tests for the index.
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from collections.abc import Callable, Collection, ItemsView, Iterable

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def query_words(text: str) -> list[str]:
    """The distinct words of a query, in the order typed."""
    return list(dict.fromkeys(words(text)))


def scan(titles: Collection[tuple[int, str]], query: list[str]) -> tuple[list[int], int]:
    """Ids of the titles holding every query word, and how many titles were examined."""
    wanted = set(query)
    found = [book_id for book_id, title in titles if wanted <= set(words(title))]
    return found, len(titles)


def build_index(titles: Iterable[tuple[int, str]]) -> dict[str, list[int]]:
    """word -> ids of the titles holding it; sorted when `titles` come by ascending id."""
    index: dict[str, list[int]] = defaultdict(list)
    for book_id, title in titles:
        for word in dict.fromkeys(words(title)):
            index[word].append(book_id)
    return dict(index)


def lookup(index: dict[str, list[int]], query: list[str]) -> tuple[list[int], int]:
    """The same ids from the index, and how many posting entries were examined."""
    postings = sorted((index.get(word, []) for word in set(query)), key=len)
    shortest, others = postings[0], [set(p) for p in postings[1:]]
    examined = len(shortest)
    found = []
    for book_id in shortest:
        examined += len(others)  # one membership test per other word
        if all(book_id in other for other in others):
            found.append(book_id)
    return found, examined


class Titles:
    """Every (id, title) of one process, by ascending id, and its index built on first
    need. The books table never changes at run time (only orders and reviews do), so
    both stay right for the life of the process."""

    def __init__(self) -> None:
        self.by_id: dict[int, str] = {}
        self._index: dict[str, list[int]] | None = None
        self._lock = threading.Lock()  # one load and one build, whichever thread asks first

    @property
    def loaded(self) -> bool:
        return bool(self.by_id)

    @property
    def titles(self) -> ItemsView[int, str]:
        return self.by_id.items()

    def load_once(self, fetch: Callable[[], Iterable[tuple[int, str]]]) -> None:
        """The first caller fetches the rows (ascending ids); later ones find them kept
        (threads wait for the first; the API's coroutines hold their own lock first)."""
        if self.by_id:
            return
        with self._lock:
            if not self.by_id:
                self.by_id = dict(fetch())

    def inverted(self) -> dict[str, list[int]]:
        if self._index is None:
            with self._lock:
                if self._index is None:
                    self._index = build_index(self.titles)
        return self._index

    def hits(self, ids: list[int], limit: int) -> list[dict[str, object]]:
        """The first `limit` matches as the answer's books."""
        return [{"id": book_id, "title": self.by_id[book_id]} for book_id in ids[:limit]]
