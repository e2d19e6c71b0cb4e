"""When the kernel will refuse py-spy, and what the user is told to do."""

from __future__ import annotations

import pytest

from perflab.lab.profiling import sampler
from perflab.lab.profiling.sampler import PtraceView, ptrace_problem


@pytest.mark.parametrize(
    ("seen", "expected"),
    [
        (PtraceView(euid=0, target_uid=1000, has_cap=True, yama_scope=1), None),
        (PtraceView(euid=1000, target_uid=1000, has_cap=False, yama_scope=0), None),
        (PtraceView(euid=1000, target_uid=1000, has_cap=False, yama_scope=None), None),
        (PtraceView(euid=1000, target_uid=1000, has_cap=False, yama_scope=1), "ptrace_scope is 1"),
        (PtraceView(euid=1000, target_uid=0, has_cap=False, yama_scope=0), "belongs to uid 0"),
        (PtraceView(euid=0, target_uid=0, has_cap=False, yama_scope=0), "CAP_SYS_PTRACE"),
        (PtraceView(euid=0, target_uid=0, has_cap=True, yama_scope=3), "until reboot"),
    ],
)
def test_ptrace_problem(seen: PtraceView, expected: str | None) -> None:
    problem = ptrace_problem(42, seen)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None and expected in problem


def test_this_process_sees_its_own_permissions() -> None:
    import os

    seen = sampler.view(os.getpid())
    assert seen.euid == os.geteuid() and seen.target_uid == os.geteuid()


def test_a_refusal_says_what_to_do() -> None:
    message = sampler._failure("py-spy on pid 7", "Error: Permission denied (os error 13)")
    assert "refused" in message and "ptrace_scope" in message and "SYS_PTRACE" in message
    other = sampler._failure("py-spy on pid 7", "Error: Failed to find python version")
    assert "failed" in other and "python version" in other


def test_record_args_sample_without_pausing_and_cover_children() -> None:
    args = sampler.record_args(9, 5, 100, True, "/tmp/x.json")
    assert args[:3] == ["record", "--pid", "9"] and "--nonblocking" in args
    assert args[args.index("--format") + 1] == "speedscope" and "--subprocesses" in args
    assert "--subprocesses" not in sampler.record_args(9, 5, 100, False, "/tmp/x.json")
