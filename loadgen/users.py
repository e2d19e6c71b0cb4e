"""Locust users: what a visitor, an exporter, a writer and each technique's client do.

Each class is a `PerflabUser` (`loadgen/base_user.py`) with its own tasks and pace;
`TECHNIQUE_USERS` holds one `<Technique>User` per technique in the catalog.
"""

from __future__ import annotations

import itertools
from typing import ClassVar

from locust import FastHttpUser, between, constant, task

from loadgen.base_user import PerflabUser
from loadgen.recipes import REVIEW, TECHNIQUES
from loadgen.scenarios import class_name


class MixedBrowse(PerflabUser):
    """A shopper: mostly reads (lists, catalog, leaderboard, book pages), now and then an order."""

    weight = 10
    wait_time = between(0.5, 2.0)

    @task(5)
    def book_list(self) -> None:
        self.hit("n_plus_one")

    @task(3)
    def catalog(self) -> None:
        self.hit("select_columns")

    @task(3)
    def top_rated(self) -> None:
        self.hit("response_cache")

    @task(6)
    def book_page(self) -> None:
        # The same page in every service: FastAPI's pool technique, Django's connections.
        self.hit_first("connection_pool", "persistent_connections")

    @task(2)
    def book_card(self) -> None:
        self.hit("http_caching")

    @task(2)
    def author_page(self) -> None:
        self.hit("prepared_statements")

    @task(1)
    def my_orders(self) -> None:
        self.hit("db_index")

    @task(1)
    def order_feed(self) -> None:
        self.hit("pagination")

    @task(1)
    def confirm_order(self) -> None:
        self.hit("background_offload")

    @task(1)
    def write_review(self) -> None:
        self.hit(REVIEW.technique)

    # Server-rendered pages and assets: services that render HTML (Django) list them;
    # for the others `hit` finds nothing and makes no request.
    @task(2)
    def rendered_book_page(self) -> None:
        self.hit("template_fragment_cache")

    @task(1)
    def shelf(self) -> None:
        self.hit("cached_templates")

    @task(1)
    def storefront(self) -> None:
        self.hit("static_files")

    @task(2)
    def price(self) -> None:
        self.hit("middleware_diet")


class ExportUser(PerflabUser):
    """A back-office user pulling big payloads: CSV export, full dumps, reports."""

    weight = 1
    wait_time = between(1.0, 3.0)

    @task(3)
    def export_csv(self) -> None:
        self.hit("streaming_export")

    @task(2)
    def dump(self) -> None:
        self.hit("fast_json")

    @task(2)
    def report(self) -> None:
        self.hit("gzip")


class WriterUser(PerflabUser):
    """An integration writing data: bulk order imports and order confirmations."""

    weight = 2
    wait_time = between(0.5, 2.0)

    @task(2)
    def bulk_import(self) -> None:
        self.hit("batch_insert")

    @task(3)
    def confirm(self) -> None:
        self.hit("background_offload")


class TechniqueUser(PerflabUser):
    """Hammers one technique's endpoint; subclasses set `technique`."""

    abstract = True
    weight = 1
    technique: ClassVar[str] = ""

    @task
    def call(self) -> None:
        if not self.hit(self.technique):
            self.missing(self.technique)


class EveryTechniqueUser(PerflabUser):
    """Cycles through every technique `/techniques` lists (`--technique a,b` narrows it).

    Techniques added to the API after this file was written are included as well.
    """

    weight = 1

    # Each user of this process starts at the next technique, so a few users with one
    # technique each cover them all (random starts left some out, more so as they grew).
    _starts: ClassVar[itertools.count[int]] = itertools.count()

    def on_start(self) -> None:
        super().on_start()
        self.turn = next(EveryTechniqueUser._starts)

    @task
    def call(self) -> None:
        wanted = [t for t in _csv(self.environment.parsed_options, "technique") if t]
        names = sorted(self.endpoints) if not wanted else wanted
        if not names:
            return
        self.turn += 1
        name = names[self.turn % len(names)]
        if not self.hit(name):
            self.missing(name)


class CapacityUser(FastHttpUser):
    """No think time against `/healthz`: measures how much load one Locust process makes."""

    weight = 1
    wait_time = constant(0)

    @task
    def healthz(self) -> None:
        with self.client.get("/healthz", catch_response=True) as resp:
            if resp.content != b'{"status":"ok"}':
                resp.failure(f"unexpected /healthz body: {resp.content[:80]!r}")


def _csv(options: object, name: str) -> list[str]:
    value = getattr(options, name, None) or ""
    return [part.strip() for part in str(value).split(",")]


TECHNIQUE_USERS: dict[str, type[TechniqueUser]] = {
    name: type(class_name(name), (TechniqueUser,), {"technique": name, "__module__": __name__})
    for name in TECHNIQUES
}
