"""What a forked pytest child that did not end in time was doing: for the failure message.

A child that does not end after its signal is a bug to find, not a timeout to raise: the
message says whether it still runs (and where each of its threads is: the kernel's wait
channel, and the Python stacks ``faulthandler`` writes on SIGUSR1 to ``STACKS`` in its
project, as ``CHILD_CONFTEST`` sets up), or has ended while another process still holds its
output open (then ``communicate`` never sees the end of it).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from zygote import Child, Zygote

#: Put in the child's project: its threads' stacks on SIGUSR1, and its own process group (a
#: signal to the group reaches its xdist workers as Ctrl-C in a terminal does, and not the
#: zygote). Only in a child started by ``start``: an in-process run of the same project must
#: not move the test process to a group of its own.
CHILD_CONFTEST = """
import faulthandler, os, signal

def pytest_configure(config):
    if os.environ.get("STUCK_CHILD") and not hasattr(config, "workerinput"):
        # A file of its own: pytest captures the child's standard error while tests run.
        config._stacks = open("STACKS", "w")
        faulthandler.register(signal.SIGUSR1, file=config._stacks, all_threads=True)
        os.setpgid(0, 0)
""".replace("STACKS", "stacks.txt")
STACKS = "stacks.txt"


def start(zygote: Zygote, *args: str) -> Child:
    """A pytest child of ``zygote`` that ``CHILD_CONFTEST`` applies to."""
    return zygote.popen_pytest(*args, env={**os.environ, "STUCK_CHILD": "1"})


def blocked_in_a_wait(pid: int, deadline_s: float = 10.0, *, in_a_worker: bool = False) -> None:
    """Return once ``pid``'s main thread sleeps in ``poll``/``select`` (waiting for an answer);
    ``in_a_worker``: the main thread of one of ``pid``'s child processes (its xdist workers).

    Python runs a signal's handler between bytecodes, and a blocking call learns of it by being
    interrupted (EINTR). A SIGINT that lands after the last check and before the call enters
    the kernel is only seen when the call returns: for a call whose answer the stand-in holds,
    after the client's read timeout (10 minutes). That is what a test sending SIGINT as soon as
    the stand-in has the request sometimes met, under load (a child that "did not exit within
    120 s"); a user's Ctrl-C, seconds into a wait, does not. So the test waits until the child
    is in the kernel's wait, read from /proc: nothing else says so; polled, as the child's
    entering a system call is nothing a test can wait on. Without /proc, it returns at once.
    """
    for _ in range(int(deadline_s / 0.002)):
        waiters = _proc(f"/proc/{pid}/task/{pid}/children").split() if in_a_worker else [str(pid)]
        if not waiters:
            return  # nothing to read them from
        for waiter in waiters:
            where = _proc(f"/proc/{waiter}/wchan")
            if not where or "poll" in where or "select" in where:
                return
        time.sleep(0.002)


def communicate(child: Child, project: Path, timeout: float = 120) -> str:
    """``child.communicate``, its output and errors as text; a failure saying where the child
    (run in ``project``) is stuck when it does not end within ``timeout``."""
    try:
        out, err = child.communicate(timeout=timeout)
    except TimeoutError:
        raise AssertionError(_stuck(child, project / STACKS)) from None
    return (out + err).decode(errors="replace")


def _stuck(child: Child, stacks: Path) -> str:
    lines = [f"the child (pid {child.pid}) did not end in time"]
    state = _proc(f"/proc/{child.pid}/stat").split(") ")[-1][:1] or "?"
    lines.append(f"its state: {state} (Z: it ended; its output is still held open)")
    # A signal it never acted on: blocked, ignored, or pending (as hex masks, bit n-1 = n).
    status = _proc(f"/proc/{child.pid}/status").splitlines()
    lines += [line for line in status if line.startswith(("SigPnd", "ShdPnd", "SigBlk", "SigCgt"))]
    pipe = f"pipe:[{os.fstat(child.stdout.fileno()).st_ino}]"
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        try:
            if os.readlink(fd) == pipe and fd.parent.parent.name != str(os.getpid()):
                pid = fd.parent.parent.name
                command = _proc(f"/proc/{pid}/cmdline").replace("\0", " ")
                lines.append(f"holds its output: pid {pid} ({command[:200]})")
        except OSError:
            continue
    if state not in ("Z", "?"):
        for task in sorted(Path(f"/proc/{child.pid}/task").glob("*")):
            lines.append(f"thread {task.name} waits in {_proc(f'{task}/wchan') or '?'}")
        _dump_stacks(child, stacks)
        lines += ["its threads' stacks:", _proc(str(stacks))]
    child.kill()
    _, err = child.communicate(timeout=60)
    lines += ["its standard error:", err.decode(errors="replace")]
    return "\n".join(lines)


def _dump_stacks(child: Child, stacks: Path) -> None:
    """SIGUSR1 to the child, and a few seconds for its stacks to reach ``stacks`` before it
    is killed (a SIGKILL already pending would go first)."""
    os.kill(child.pid, signal.SIGUSR1)
    for _ in range(50):  # a failure's diagnosis, not a test's wait
        if stacks.is_file() and stacks.stat().st_size:
            time.sleep(0.2)  # the rest of the dump
            return
        time.sleep(0.1)


def _proc(path: str) -> str:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""
