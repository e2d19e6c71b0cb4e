"""A mistyped command line exits 2 and says what was wrong, before touching the lab
(1 stays for "the lab could not do it": a service down, a run that failed)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from perflab.lab.cli import app
from tests.support.http_stub import JsonStub, serving

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (["flag", "nope", "off"], "unknown flag 'nope'; `lab flags` lists them"),
        (["flag", "n_plus_one", "maybe"], "usage: lab flag NAME on|off"),
        (["profile", "nope"], "unknown target 'nope'; one of: api, django, flask, worker"),
        (["logs", "nope"], "unknown component 'nope'; one of: postgres, redis, api,"),
        (["fault", "nope"], "unknown component 'nope'; one of: postgres, redis, worker,"),
        (
            ["load", "--service", "flask", "--scenario", "prepared_statements", "-t", "3s"],
            "prepared_statements is not implemented by flask (it is by fastapi, django)",
        ),
    ],
)
def test_a_mistyped_command_exits_2_naming_the_mistake(args: list[str], why: str) -> None:
    done = runner.invoke(app, args)
    assert done.exit_code == 2, done.output
    assert why in " ".join(done.output.split())


class _Lists(JsonStub):
    """A service that lists one technique."""

    def answer(self, _path: str) -> bytes:
        return json.dumps({"techniques": [{"name": "n_plus_one"}]}).encode()


def test_load_against_a_host_refuses_a_technique_it_does_not_list() -> None:
    with serving(_Lists) as host:
        done = runner.invoke(app, ["load", "--host", host, "--scenario", "db_index"])
    assert done.exit_code == 2, done.output
    assert f"{host} does not serve db_index; it lists: n_plus_one" in " ".join(done.output.split())
