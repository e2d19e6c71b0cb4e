"""The gzip report's one statement: each service binds the limit with its driver's
placeholder, and nothing else can be put in its place."""

from __future__ import annotations

import pytest

from perflab.sales_report import PLACEHOLDERS, sales_report_sql


def test_each_drivers_placeholder_binds_the_limit_and_the_rest_is_the_same():
    statements = {p: sales_report_sql(p) for p in PLACEHOLDERS}
    for placeholder, sql in statements.items():
        assert f"LIMIT {placeholder}\n" in sql
    assert len({sql.replace(p, "?") for p, sql in statements.items()}) == 1


def test_a_value_in_place_of_a_placeholder_is_refused():
    with pytest.raises(ValueError, match="placeholder"):
        sales_report_sql("20; DROP TABLE orders")
