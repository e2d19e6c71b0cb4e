"""An in-memory catalogue of every book: mapped ORM entities vs SQLAlchemy `Row`s.

Demonstrates: `GET /catalogue/stats?genre=`, price and year statistics computed from a
catalogue of every book that each worker process loads once and keeps in memory (the
API's answer). The naive catalogue is `select(Book)` with the six columns loaded
(`load_only`): an entity per book, each with its attribute dict and the ORM's
per-instance state (`InstanceState`: identity key, loaded and committed attributes),
kept after the session that loaded them has closed. The optimised one selects the six
columns: a `Row` per book, a tuple that shares its keys with every other row of the
result. Same numbers. Each process keeps only the form its flag asks for
(`perflab/book_catalogue.py`): the first request of the other variant drops it and
loads anew.
Watch: `perflab_catalogue_bytes{variant}` (service=flask) and the workers' RSS. Expect
about 7x fewer bytes per book held (an entity with its state ~1.1 KB, a `Row` ~160 B,
field values left out), ~20 MB less per worker process at scale 1 (20k books).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import load_only

from perflab.book_catalogue import (
    FIELDS,
    HeldCatalogue,
    statistics_of_objects,
    statistics_of_tuples,
)
from perflab.catalog import TECHNIQUES
from perflab.flask_service import validation
from perflab.flask_service.models import Book
from perflab.flask_service.resources import session
from perflab.flask_service.techniques.base import Technique, run

NAME = "compact_objects"
COLUMNS = [getattr(Book, field) for field in FIELDS]
# Per process, on purpose: the catalogue held in memory is what the lesson is about.
catalogue = HeldCatalogue()


def entities() -> list[Book]:
    return list(session().scalars(select(Book).options(load_only(*COLUMNS)).order_by(Book.id)))


def rows() -> list[Any]:
    return list(session().execute(select(*COLUMNS).order_by(Book.id)))


def naive(genre: str | None) -> dict[str, Any]:
    return statistics_of_objects(catalogue.rows("naive", entities), genre)


def optimised(genre: str | None) -> dict[str, Any]:
    return statistics_of_tuples(catalogue.rows("optimised", rows), genre)


class Genre(BaseModel):
    genre: str | None = Field(None, min_length=1, max_length=50)


blueprint = Blueprint(NAME, __name__)


@blueprint.get("/catalogue/stats")
def catalogue_stats() -> ResponseReturnValue:
    genre = validation.query(Genre).genre
    return jsonify(run(NAME, naive, optimised, genre))


TECHNIQUE = Technique(spec=TECHNIQUES[NAME], blueprint=blueprint)
