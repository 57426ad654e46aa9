"""The forked xdist workers of ``worker_zygote.py`` end and answer signals as ``python -c`` does:
xdist learns a worker's fate from its process and pipes, so each case runs the same code in a
real interpreter and through the fork server and compares what was seen.

The server is started cold (no warm-up: these children run no pytest), in a fraction of a second.
"""

from __future__ import annotations

import selectors
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
from worker_zygote import WorkerZygote

#: Reads a line, says it is ready, then waits for stdin to close or a signal; says which signal
#: came and ends by it.
WAIT = """
import os, signal, sys

def said(signum, frame):
    print("got", signum, flush=True)
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)

for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(signum, said)
sys.stdin.readline()
print("ready", flush=True)
sys.stdin.read()
"""


@pytest.fixture(scope="module")
def forked() -> Iterator[list[str]]:
    server = WorkerZygote.start(warm=False)
    try:
        yield server.python
    finally:
        server.close()


def _started(python: list[str]) -> subprocess.Popen[bytes]:
    """A worker waiting on its stdin, which the test keeps open."""
    process = subprocess.Popen(
        [*python, "-u", "-c", WAIT], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(b"go\n")
    process.stdin.flush()
    assert process.stdout.readline() == b"ready\n"
    return process


def _last_words(process: subprocess.Popen[bytes]) -> bytes | None:
    """What the worker wrote before it died, or None if it lives on.

    The worker holds the only other write end of its stdout (``worker_python.py`` gave its
    away): end of file there once the worker is dead."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout=60):  # a guard against hanging, never reached when right
            return None
    return process.stdout.read()


def _run(python: list[str], *args: str, stdin: str = "") -> tuple[int, str, str]:
    done = subprocess.run([*python, *args], input=stdin, capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize(
    "code",
    [
        "import sys; print(sys.argv, sys.path[0] == '', __name__, sys.stdin.readline().strip())",
        "import sys; sys.exit(3)",
        "import sys; sys.exit('a message')",
        "raise ValueError('unhandled')",
        "import os, signal; os.kill(os.getpid(), signal.SIGTERM)",
        "import os; os._exit(7)",
        "raise KeyboardInterrupt",
    ],
    ids=["argv-and-stdin", "exit-code", "exit-message", "exception", "signal", "_exit", "ctrl-c"],
)
def test_a_worker_ends_as_python_c_does(forked: list[str], code: str) -> None:
    real = _run([sys.executable], "-u", "-c", code, "an-argument", stdin="hello\n")
    fork = _run(forked, "-u", "-c", code, "an-argument", stdin="hello\n")
    assert fork[:2] == real[:2]
    assert fork[2].splitlines()[-1:] == real[2].splitlines()[-1:]  # a traceback's last line


@pytest.mark.parametrize(
    "signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: signal.Signals(s).name
)
def test_a_signal_to_the_wrapper_reaches_the_worker(forked: list[str], signum: int) -> None:
    outcomes = []
    for python in ([sys.executable], forked):
        with _started(python) as process:
            process.send_signal(signum)
            assert _last_words(process) == f"got {signum}\n".encode(), python
            outcomes.append(process.wait(timeout=60))
    assert outcomes == [-signum, -signum]


def test_a_killed_wrapper_takes_its_worker_down(forked: list[str]) -> None:
    """execnet's last resort is SIGKILL, which cannot be passed on: the server sees the
    wrapper's connection close and kills the worker."""
    with _started(forked) as process:
        process.kill()
        assert process.wait(timeout=60) == -signal.SIGKILL
        assert _last_words(process) == b"", "the worker outlived its killed wrapper"
