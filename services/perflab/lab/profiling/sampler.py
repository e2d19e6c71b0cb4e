"""py-spy against a live process: natively, or inside a compose container.

py-spy reads the target's memory from outside (ptrace and process_vm_readv), so the
target needs no restart and no code change, but the kernel must allow it: root (or
CAP_SYS_PTRACE), or the same user with `kernel.yama.ptrace_scope` at 0; in a container,
the SYS_PTRACE capability (compose.yaml grants it to the app services). `ptrace_problem`
says beforehand what stands in the way, and a refusal by py-spy is explained the same way.

One recording per window, in speedscope's format: the flame graph and the tables are
drawn from the same samples (two samplers on one process interfere: two concurrent
recordings, each pausing the process, lost about half their samples).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from perflab.lab.docker import ComposeStack, DockerError

CAP_SYS_PTRACE = 19
YAMA_SCOPE = Path("/proc/sys/kernel/yama/ptrace_scope")
_COUNTS = re.compile(r"Samples: (\d+) Errors: (\d+)")
_REFUSED = ("Permission denied", "Operation not permitted", "EPERM", "ptrace")
WHAT_TO_DO = (
    "Run it as root (sudo ./scripts/lab profile ...), or let your user trace its own "
    "processes (sudo sysctl kernel.yama.ptrace_scope=0); inside a container, add the "
    "SYS_PTRACE capability (compose: cap_add: [SYS_PTRACE]; docker run --cap-add SYS_PTRACE)."
)


class SamplerError(RuntimeError):
    """py-spy is missing, not permitted, or failed; the message says what to do."""


@dataclass(frozen=True)
class Recording:
    path: Path  # speedscope JSON
    samples: int
    errors: int
    seconds: float


@dataclass(frozen=True)
class PtraceView:
    """What decides whether this process may trace another (read from /proc)."""

    euid: int
    target_uid: int
    has_cap: bool
    yama_scope: int | None  # None: no Yama LSM


def _caps_effective() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)
    return 0


def view(pid: int) -> PtraceView:
    try:
        scope: int | None = int(YAMA_SCOPE.read_text().strip())
    except (OSError, ValueError):
        scope = None
    return PtraceView(
        euid=os.geteuid(),
        target_uid=os.stat(f"/proc/{pid}").st_uid,
        has_cap=bool(_caps_effective() >> CAP_SYS_PTRACE & 1),
        yama_scope=scope,
    )


def ptrace_problem(pid: int, seen: PtraceView) -> str | None:
    """Why the kernel will refuse to let us sample `pid`, or None when it should allow it."""
    if seen.yama_scope == 3:
        return "kernel.yama.ptrace_scope is 3: no process may be traced until reboot"
    if seen.has_cap:
        return None
    if seen.euid == 0:
        return (
            "running as root but without the CAP_SYS_PTRACE capability "
            "(a container started without SYS_PTRACE?)"
        )
    if seen.target_uid != seen.euid:
        return f"pid {pid} belongs to uid {seen.target_uid}, not to you (uid {seen.euid})"
    if seen.yama_scope is not None and seen.yama_scope >= 1:
        return (
            f"kernel.yama.ptrace_scope is {seen.yama_scope}: only a parent process "
            "(or root) may trace another"
        )
    return None


def py_spy() -> str:
    beside = Path(sys.executable).parent / "py-spy"
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise SamplerError("py-spy is not installed: run ./scripts/bootstrap (it is a dependency)")
    return found


def record_args(pid: int, seconds: int, rate: int, subprocesses: bool, out: str) -> list[str]:
    args = ["record", "--pid", str(pid), "--duration", str(seconds), "--rate", str(rate)]
    # --nonblocking: the target is never paused (a live lab keeps its latency), and
    # py-spy tells idle threads by their state, which a paused thread no longer shows:
    # measured here, pausing counted waiting threads as busy (half the samples).
    args += ["--nonblocking", "--format", "speedscope", "--output", out]
    return args + (["--subprocesses"] if subprocesses else [])


def _counts(output: str) -> tuple[int, int]:
    match = _COUNTS.search(output)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def record(pid: int, out: Path, seconds: int, rate: int, subprocesses: bool) -> Recording:
    """Sample `pid` (and its children with `subprocesses`) for `seconds`."""
    problem = ptrace_problem(pid, view(pid))
    if problem:
        raise SamplerError(f"sampling pid {pid} is not permitted: {problem}. {WHAT_TO_DO}")
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [py_spy(), *record_args(pid, seconds, rate, subprocesses, str(out))]
    began = time.monotonic()
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=seconds + 60, check=False,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    output = done.stdout + done.stderr
    if done.returncode != 0 or not out.exists():
        raise SamplerError(_failure(f"py-spy on pid {pid}", output))
    samples, errors = _counts(output)
    return Recording(out, samples, errors, time.monotonic() - began)


def _failure(what: str, output: str) -> str:
    tail = " ".join(output.strip().splitlines()[-3:])[:400]
    if any(word in output for word in _REFUSED):
        return f"{what} was refused by the kernel ({tail}). {WHAT_TO_DO}"
    return f"{what} failed: {tail or 'no output'}"


def record_in_container(
    stack: ComposeStack, service: str, index: int, out: Path, seconds: int, rate: int
) -> Recording:
    """Sample a compose service's container: its PID 1 (the service's own command) and
    every process under it, with py-spy from the app image, as root inside it."""
    inner = f"/tmp/perflab-profile-{os.getpid()}-{int(time.time())}.json"
    exec_ = ["exec", "-T", "--user", "root", "--index", str(index), service]
    began = time.monotonic()
    try:
        output = stack.run(
            *exec_, "py-spy", *record_args(1, seconds, rate, True, inner),
            timeout=seconds + 120, capture=True,
        )  # fmt: skip
        out.parent.mkdir(parents=True, exist_ok=True)
        stack.run("cp", "--index", str(index), f"{service}:{inner}", str(out), timeout=60)
    except DockerError as exc:
        text = str(exc)
        if any(word in text for word in _REFUSED):
            raise SamplerError(
                f"py-spy in the {service} container was refused: it needs the SYS_PTRACE "
                f"capability (compose.yaml: cap_add: [SYS_PTRACE]); recreate the container "
                f"with `docker compose up -d --force-recreate {service}`. ({text[-300:]})"
            ) from exc
        raise SamplerError(f"sampling the {service} container failed: {text[-400:]}") from exc
    finally:
        try:
            stack.run(*exec_, "rm", "-f", inner, timeout=30, capture=True)
        except DockerError:
            pass  # the container may be gone; a /tmp file inside it does not matter then
    samples, errors = _counts(output)
    return Recording(out, samples, errors, time.monotonic() - began)
