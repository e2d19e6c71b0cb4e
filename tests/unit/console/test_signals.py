"""A technique's key signal as PromQL, and its samples split by the flag's state."""

from __future__ import annotations

from perflab.console.signals import parse_metric, signal_for, split

BOOKS = {"name": "n_plus_one", "metric": 'perflab_db_queries_per_request{route="/books"}'}


def test_the_metric_field_gives_a_name_and_its_matchers() -> None:
    assert parse_metric('perflab_db_queries_per_request{route="/books"}') == (
        "perflab_db_queries_per_request", ['route="/books"'])  # fmt: skip
    assert parse_metric("perflab_event_loop_lag_seconds") == ("perflab_event_loop_lag_seconds", [])
    # Free text after the name (streaming_export's) keeps the name, drops what is not a matcher.
    assert parse_metric("perflab_export_buffer_peak_bytes{variant} and process memory") == (
        "perflab_export_buffer_peak_bytes", [])  # fmt: skip
    assert parse_metric("") is None


def test_the_metric_type_picks_the_figure_and_the_job_limits_it() -> None:
    mean = signal_for(BOOKS, "api", "histogram")
    assert mean is not None and (mean.label, mean.unit) == ("mean", "queries")
    assert 'perflab_db_queries_per_request_sum{route="/books",job="api"}' in mean.query
    seconds = signal_for({"metric": 'perflab_technique_duration_seconds{technique="x"}'},
                         "django", "histogram")  # fmt: skip
    assert seconds is not None and seconds.label == "p95" and seconds.unit == "s"
    assert seconds.query.startswith("histogram_quantile(0.95,")
    assert 'job="django"' in seconds.query
    counter = signal_for({"metric": "perflab_db_connections_opened_total"}, "api", "counter")
    assert counter is not None and counter.query.startswith("sum(rate(") and counter.unit == "/s"
    assert counter.label == "db connections opened"  # shown as "0.50/s db connections opened"
    gauge = signal_for({"metric": "perflab_event_loop_lag_seconds"}, "api", "gauge")
    assert gauge is not None and gauge.query == 'max(perflab_event_loop_lag_seconds{job="api"})'
    # Prose, not a metric: the technique's first dashboard signal, scoped to the job and
    # read over the console's window.
    ratio = {"metric": "service CPU per request", "signals": ["nope", "cpu_per_request"]}
    given = signal_for(ratio, "flask", None)
    assert given is not None and 'job="flask"' in given.query and "[30s]" in given.query
    assert "$" not in given.query and "service=" not in given.query
    assert (given.label, given.unit) == ("Service CPU per request (all processes)", "s")
    assert signal_for({"metric": "service CPU per request", "signals": []}, "flask", None) is None


def test_samples_split_by_the_flag_at_the_same_instant() -> None:
    signal = [[10, "101"], [12, "99"], [14, "2"], [16, "NaN"], [18, "2"]]
    flag = [[10, "0"], [12, "0"], [14, "1"], [16, "1"], [18, "1"]]
    figures = split(signal, flag, [], end=18, step=2)
    assert figures.naive == [101.0, 99.0, None, None, None]
    assert figures.optimised == [None, None, 2.0, None, 2.0]
    assert (figures.current, figures.current_variant) == (2.0, "optimised")
    assert figures.mean(figures.naive) == 100.0
    # The last sample is minutes old: there is no current figure.
    stale = split(signal, flag, [], end=300, step=2)
    assert stale.current is None


def test_a_rate_right_after_a_flip_counts_for_neither_variant() -> None:
    times = range(0, 20, 2)
    signal = [[t, "1"] for t in times]
    flag = [[t, "0" if t < 8 else "1"] for t in times]
    figures = split(signal, flag, [], end=18, step=2, settle=4)
    # Flip at 8: samples at 8 and 10 still hold naive traffic in their 4 s window.
    assert figures.naive == [1.0, 1.0, 1.0, 1.0, None, None, None, None, None, None]
    assert figures.optimised == [None, None, None, None, None, None, 1.0, 1.0, 1.0, 1.0]
    assert figures.mixed == [None, None, None, None, 1.0, 1.0, None, None, None, None]
    assert figures.current_variant == "optimised"
