"""The lab's exception tree, mapped to HTTP answers by one handler in `api/errors.py`.

PerflabError                     500
├── BadRequest                   400  the request cannot be served as asked
├── NotFound                     404  e.g. unknown flag or book
├── Unauthorized                 401  missing or wrong admin token
├── Conflict                     409  e.g. an index change already running
└── DependencyUnavailable        503  Postgres, Redis or the broker is down (named)
"""

from __future__ import annotations


class PerflabError(Exception):
    status_code = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(PerflabError):
    status_code = 400


class NotFound(PerflabError):
    status_code = 404


class Unauthorized(PerflabError):
    status_code = 401


class Conflict(PerflabError):
    status_code = 409


class DependencyUnavailable(PerflabError):
    status_code = 503

    def __init__(self, dependency: str, detail: str) -> None:
        super().__init__(f"{dependency} is unavailable: {detail}")
        self.dependency = dependency
