"""System packages the lab needs: reported when missing, installed with apt-get as root."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable

from perflab.lab.components import Component
from perflab.procs import StartError, is_root


def missing_packages(components: list[Component]) -> list[str]:
    wanted = [c.package for c in components if c.binary is None and not c.optional]
    return list(dict.fromkeys(p for p in wanted if p))


def install_command(packages: list[str]) -> str:
    return f"sudo apt-get install -y {' '.join(packages)}"


def ensure(packages: list[str], say: Callable[[str], object] = print) -> None:
    """Install `packages` with apt-get when root (saying so, with apt's progress lines);
    otherwise say exactly what to run."""
    if not packages:
        return
    if not is_root():
        raise StartError(
            f"missing system packages: {', '.join(packages)}; run: {install_command(packages)}"
        )
    if shutil.which("apt-get") is None:
        raise StartError(
            f"missing system packages: {', '.join(packages)}; install them with your "
            "package manager (apt-get not found)"
        )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    say(f"lab up: installing missing system packages: {', '.join(packages)} (apt-get, as root)")
    for what, cmd in (
        ("refreshing the package lists", ["apt-get", "update", "-q"]),
        # -q (not -qq): apt prints its Get/Unpacking/Setting up lines, the progress.
        ("installing", ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]),
    ):
        say(f"lab up: {what}: {' '.join(cmd)}")
        done = subprocess.run(cmd, env=env, check=False)
        if done.returncode != 0:
            raise StartError(f"{' '.join(cmd)} failed (exit {done.returncode})")
