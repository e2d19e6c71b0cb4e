"""uv.lock is the one lock file: current with pyproject.toml, and what the images pin."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.support.servers import REPO

UV = Path(REPO) / ".venv" / "bin" / "uv"
_spec = importlib.util.spec_from_file_location("requirements", REPO / "docker" / "requirements.py")
assert _spec is not None and _spec.loader is not None
requirements = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(requirements)


def _uv() -> str:
    found = str(UV) if UV.exists() else shutil.which("uv")
    if found is None:
        pytest.fail("uv is missing: ./scripts/bootstrap installs it into .venv")
    return found


def _lock_check(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_uv(), "lock", "--check", "--offline", "--project", str(project)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_the_lock_file_is_current_with_pyproject():
    done = _lock_check(REPO)
    assert done.returncode == 0, done.stderr


def test_a_stale_lock_file_is_caught(tmp_path: Path):
    (tmp_path / "uv.lock").write_text((REPO / "uv.lock").read_text())
    pyproject = (REPO / "pyproject.toml").read_text()
    # A new dependency the lock has never seen.
    stale = pyproject.replace("dependencies = [\n", 'dependencies = [\n  "six>=1.16",\n', 1)
    assert stale != pyproject
    (tmp_path / "pyproject.toml").write_text(stale)
    (tmp_path / "README.md").write_text("x")
    assert _lock_check(tmp_path).returncode != 0


def test_images_pin_what_the_lock_pins(tmp_path: Path):
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    pins = dict(p.split("==") for p in requirements.locked_pins(lock))
    by_name = {}
    for package in lock["package"]:
        by_name.setdefault(requirements.normalise(package["name"]), set()).add(package["version"])
    assert pins["fastapi"] in by_name["fastapi"]
    assert "perflab" not in pins  # the project itself is not a registry package
    assert all(len(by_name[name]) == 1 for name in pins)
    out = tmp_path / "constraints.txt"
    listed = subprocess.run(
        ["python3", str(REPO / "docker" / "requirements.py"), str(REPO / "pyproject.toml"),
         "--only", "locust", "--lock", str(REPO / "uv.lock"), "--constraints-out", str(out)],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    assert listed[0] == f"-c {out}"
    assert f"locust=={pins['locust']}" in out.read_text().splitlines()
