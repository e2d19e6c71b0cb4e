"""Header parsing behind gzip and http_caching: Accept-Encoding q-values, If-None-Match."""

from __future__ import annotations

import pytest

from perflab.api.middleware.gzip import accepts_gzip
from perflab.api.techniques.http_caching import entity_tag, etag_matches


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("br;q=1.0, gzip;q=0.5", True),
        ("GZIP", True),
        ("*", True),
        ("x-gzip", True),
        ("", False),
        ("identity", False),
        ("br, deflate", False),
        ("gzip;q=0", False),
        ("gzip;q=0.000, *", False),  # an explicit gzip entry beats the wildcard
        ("*;q=0", False),
        ("gzip;q=abc", False),
    ],
)
def test_accepts_gzip(header: str, expected: bool):
    assert accepts_gzip(header) is expected


def test_etag_matches_weakly_any_listed_tag_or_star():
    tag = entity_tag(b'{"id":1}')
    assert tag.startswith('"') and tag.endswith('"')
    assert tag == entity_tag(b'{"id":1}') != entity_tag(b'{"id":2}')
    assert etag_matches(tag, tag)
    assert etag_matches(f"W/{tag}", tag)  # weak comparison: gzip weakened our tag
    assert etag_matches(f'"other", {tag}', tag)
    assert etag_matches(f'"a,b",W/{tag}', tag)  # commas may sit inside a tag
    assert etag_matches(" * ", tag)
    assert not etag_matches('"other"', tag)
    assert not etag_matches(tag.strip('"'), tag)  # unquoted is not an entity-tag
    assert not etag_matches("", tag)
