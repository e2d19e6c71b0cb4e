"""System packages the lab needs: reported when missing, installed with apt-get as root."""

from __future__ import annotations

import os
import shutil
import subprocess

from perflab.lab.components import Component
from perflab.procs import StartError, is_root


def missing_packages(components: list[Component]) -> list[str]:
    wanted = [c.package for c in components if c.binary is None and not c.optional]
    return list(dict.fromkeys(p for p in wanted if p))


def install_command(packages: list[str]) -> str:
    return f"sudo apt-get install -y {' '.join(packages)}"


def ensure(packages: list[str]) -> None:
    """Install `packages` with apt-get when root; otherwise say exactly what to run."""
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
    for cmd in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
    ):
        done = subprocess.run(cmd, env=env, check=False)
        if done.returncode != 0:
            raise StartError(f"{' '.join(cmd)} failed (exit {done.returncode})")
