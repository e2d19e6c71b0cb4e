"""Finding a web service's processes by the port they listen on, with a real process tree."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from perflab.lab.components import LabContext
from perflab.lab.config import LabSettings
from perflab.lab.profiling import targets
from perflab.procs import free_port, stop_pid, tcp_ready

# A parent that binds the port and two forked children that inherit the listening
# socket, as uvicorn's supervisor and workers do; plus a child that does not listen.
SERVER = """
import os, socket, sys, time
sock = socket.socket(); sock.bind(("127.0.0.1", int(sys.argv[1]))); sock.listen()
for _ in range(2):
    if os.fork() == 0:
        time.sleep(60); os._exit(0)
if os.fork() == 0:
    sock.close(); time.sleep(60); os._exit(0)
time.sleep(60)
"""


@pytest.fixture
def server() -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], start_new_session=True)
    deadline = time.monotonic() + 10
    while not tcp_ready(port) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # the children are forked after listen()
    yield port, proc
    stop_pid(proc.pid)
    proc.wait()


def test_a_web_target_is_found_by_its_port(
    server: tuple[int, subprocess.Popen[bytes]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port, proc = server
    monkeypatch.setenv("PERFLAB_LAB__STATE_DIR", str(tmp_path))  # no pid file there
    monkeypatch.setenv("PERFLAB_PORTS__API", str(port))
    ctx = LabContext.load(LabSettings())
    found = targets.find(targets.get("api"), ctx)
    assert found.root == proc.pid and f"port {port}" in found.found
    assert len(found.serving) == 2 and proc.pid not in found.serving  # not the idle child
    assert targets.listener(port) == proc.pid


def test_a_stopped_target_says_how_to_start_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PERFLAB_LAB__STATE_DIR", str(tmp_path))
    monkeypatch.setenv("PERFLAB_PORTS__API", str(free_port()))
    ctx = LabContext.load(LabSettings())
    with pytest.raises(targets.TargetError, match="lab up"):
        targets.find(targets.get("api"), ctx)
    with pytest.raises(targets.TargetError, match="one of: api, django, flask, worker"):
        targets.get("nginx")


def test_busiest_names_the_process_using_the_cpu() -> None:
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        pid, usage = targets.busiest((idle.pid, busy.pid), seconds=0.5)
        assert pid == busy.pid and usage[busy.pid] > usage[idle.pid]
    finally:
        for proc in (idle, busy):
            proc.kill()
            proc.wait()
