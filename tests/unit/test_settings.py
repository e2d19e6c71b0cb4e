"""A bad setting is one line naming the variable and what it should be, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsError

from perflab.settings import Settings, explain
from tests.support.servers import REPO


def _problems(monkeypatch: pytest.MonkeyPatch, **env: str) -> list[str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises((ValidationError, SettingsError)) as caught:
        Settings()
    return explain(caught.value)


def test_a_nested_group_given_as_a_string(monkeypatch: pytest.MonkeyPatch):
    (line,) = _problems(monkeypatch, PERFLAB_API="http://x")
    assert line.startswith("PERFLAB_API: expected a JSON object")
    assert "PERFLAB_API__<FIELD>" in line


def test_each_bad_field_is_one_line(monkeypatch: pytest.MonkeyPatch):
    lines = _problems(monkeypatch, PERFLAB_API__PORT="abc", PERFLAB_DB__POOL_MIN="0")
    assert sorted(lines) == [
        "PERFLAB_API__PORT: Input should be a valid integer, unable to parse string as an "
        "integer (got 'abc')",
        "PERFLAB_DB__POOL_MIN: Input should be greater than or equal to 1 (got '0')",
    ]


def test_an_unreadable_password_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    (line,) = _problems(monkeypatch, PERFLAB_DB__PASSWORD_FILE=str(tmp_path / "none"))
    assert line.startswith("PERFLAB_DB__PASSWORD_FILE:")
    assert "cannot read the password file" in line


def test_a_password_file_lands_in_the_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    secret = tmp_path / "pw"
    secret.write_text("p@ss:w/rd\n")
    monkeypatch.setenv("PERFLAB_DB__PASSWORD_FILE", str(secret))
    monkeypatch.setenv("PERFLAB_REDIS__PASSWORD_FILE", str(secret))
    settings = Settings()
    assert settings.db.dsn == "postgresql://perflab:p%40ss%3Aw%2Frd@127.0.0.1:55432/perflab"
    assert settings.celery_broker_url == "redis://:p%40ss%3Aw%2Frd@127.0.0.1:56379/1"


@pytest.mark.parametrize(
    "entry",
    [
        [sys.executable, "-m", "perflab.lab.cli", "status"],
        [sys.executable, "-c", "from perflab.api.app import app_factory; app_factory()"],
        [sys.executable, "-c", "import perflab.worker.app"],
    ],
    ids=["lab", "api", "worker"],
)
def test_every_entry_prints_one_line_and_exits(entry: list[str]):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERFLAB_")}
    done = subprocess.run(
        entry, env=env | {"PERFLAB_API": "http://x"}, cwd=REPO, capture_output=True,
        text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "PERFLAB_API: expected a JSON object" in lines[0]
    assert "Traceback" not in done.stderr
