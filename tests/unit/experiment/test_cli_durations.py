"""`lab experiment --duration` takes `lab load -t`'s syntax (90, 8s, 2m) and refuses
what the figures cannot work with, saying why; `--seed` is an integer or `random`;
a flag the service does not implement is refused before anything runs."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from perflab.experiment.cli_options import parse_seed
from perflab.lab.cli import app
from perflab.procs import free_port

runner = CliRunner()


@pytest.mark.parametrize("duration", ["8s", "2m", "90"])
def test_a_duration_lab_load_takes_is_taken(duration: str) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    done = runner.invoke(app, ["experiment", "n_plus_one", "--duration", duration,
                               "--api", nowhere, "--prometheus", nowhere])  # fmt: skip
    # Past the options: it stops at the missing stack, not at the duration.
    assert done.exit_code == 1, done.output
    assert "not reachable" in done.output


@pytest.mark.parametrize(
    ("duration", "why"),
    [("8x", "bad duration"), ("2s", "at least 3 s measured"), ("2", "confidence interval")],
)
def test_a_bad_duration_is_named(duration: str, why: str) -> None:
    done = runner.invoke(app, ["experiment", "n_plus_one", "--duration", duration])
    assert done.exit_code == 2
    assert why in done.output


def test_an_against_folder_that_holds_no_report_is_refused_before_any_run(tmp_path) -> None:
    done = runner.invoke(app, ["experiment", "n_plus_one", "--against", str(tmp_path)])
    assert done.exit_code == 2
    assert "no summary.json or results.json" in done.output


def test_a_seed_is_an_integer_or_random() -> None:
    assert parse_seed("7") == 7
    assert parse_seed("random") is None
    done = runner.invoke(app, ["experiment", "n_plus_one", "--seed", "lucky"])
    assert done.exit_code == 2
    assert "'lucky': expected an integer, or `random`" in done.output


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (["experiment", "n_plus_one", "nope"], "unknown flag 'nope'; known: n_plus_one, "),
        (
            ["experiment", "prepared_statements", "--service", "flask"],
            "prepared_statements is not implemented by flask",
        ),
        (["experiment", "middleware_diet"], "middleware_diet is not implemented by fastapi"),
        (["compare", "nope"], "unknown flag 'nope'; known: n_plus_one, "),
    ],
)
def test_a_flag_the_service_lacks_is_refused_before_anything_runs(
    args: list[str], why: str
) -> None:
    # No stack is needed to say so: the catalog knows every flag and who implements it.
    nowhere = f"http://127.0.0.1:{free_port()}"
    done = runner.invoke(app, [*args, "--api", nowhere, "--prometheus", nowhere])
    assert done.exit_code == 2, done.output
    assert why in " ".join(done.output.split())
    assert "data:" not in done.output  # nothing was restored
