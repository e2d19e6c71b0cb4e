"""Header parsing behind http_caching: If-None-Match (gzip's is Starlette's)."""

from __future__ import annotations

from perflab.api.techniques.http_caching import entity_tag, etag_matches


def test_etag_matches_weakly_any_listed_tag_or_star():
    tag = entity_tag(b'{"id":1}')
    assert tag.startswith('"') and tag.endswith('"')
    assert tag == entity_tag(b'{"id":1}') != entity_tag(b'{"id":2}')
    assert etag_matches(tag, tag)
    assert etag_matches(f"W/{tag}", tag)  # weak comparison (RFC 9110)
    assert etag_matches(f'"other", {tag}', tag)
    assert etag_matches(f'"a,b",W/{tag}', tag)  # commas may sit inside a tag
    assert etag_matches(" * ", tag)
    assert not etag_matches('"other"', tag)
    assert not etag_matches(tag.strip('"'), tag)  # unquoted is not an entity-tag
    assert not etag_matches("", tag)
