"""A fork server for tests that need pytest in a real child process (to send it real signals).

Starting ``python -m pytest`` costs seconds: pytest, the SDK with its pydantic models and the
plugin are imported anew each time. The zygote is a helper process, started once per test
session (``zygote`` fixture in ``conftest.py``), that imports all of that once and then, per
request, forks a child that becomes what ``pytester.popen([sys.executable, "-m", "pytest",
...])`` would have started: the given working directory, environment (``PYTHONPATH`` included)
and arguments, Python's own SIGINT handler, stdin from ``/dev/null``; it runs pytest's console
entry point and exits with its status, running the interpreter's exit functions first.

The zygote is single-threaded (``fork`` copies only the calling thread; a lock held by another
thread would stay locked in the child), and the test process itself is never forked: it runs
the stand-in's threads. The zygote is the children's parent, so it reports how each ended; it
reaps a child only when the next request comes, so the pid a test signals is never reused.

Run as a script by ``Zygote.start``, never imported by the child side; the fork server of the
suite's xdist workers (``worker_zygote.py``) shares its warm-up.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

#: One signed 64-bit number per reply: first the child's pid, then its Popen-style status.
_NUMBER = struct.Struct("!q")
_MAX_REQUEST = 1 << 20


# --- the test's side ------------------------------------------------------------------------


class Child:
    """A forked pytest run, used like the ``subprocess.Popen`` it stands for."""

    def __init__(self, zygote: Zygote, pid: int, stdout: IO[bytes], stderr: IO[bytes]) -> None:
        self.pid = pid
        #: Unbuffered, so iterating lines never holds bytes that ``communicate`` would miss.
        self.stdout = stdout
        self._stderr = stderr  # a file: the child never blocks on a full stderr pipe
        self._zygote = zygote
        self.returncode: int | None = None

    def send_signal(self, signum: int) -> None:
        # Safe until the status is read: the zygote has not reaped the pid, so it is not reused.
        if self.returncode is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def poll(self) -> int | None:
        if self.returncode is None and self._zygote.status_ready():
            self.returncode = self._zygote.read_status(timeout=None)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = self._zygote.read_status(timeout)
        return self.returncode

    def communicate(self, timeout: float | None = None) -> tuple[bytes, bytes]:
        """Everything the child writes until it exits, then its status (``returncode``)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        out = _read_to_end(self.stdout.fileno(), deadline)
        self.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
        self.stdout.close()
        self._stderr.seek(0)
        err = self._stderr.read()
        self._stderr.close()
        return out, err


def _read_to_end(fd: int, deadline: float | None) -> bytes:
    chunks: list[bytes] = []
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and (left <= 0 or not selector.select(left)):
                raise TimeoutError("the child did not finish in time")
            chunk = os.read(fd, 65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


class Zygote:
    """The test process's handle on the fork server: one child at a time."""

    def __init__(self, process: subprocess.Popen[bytes], sock: socket.socket, log: IO[bytes]):
        self._process = process
        self._sock = sock
        self._log = log
        self._child: Child | None = None

    @classmethod
    def start(cls) -> Zygote:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # each child sets it
        process = subprocess.Popen(
            [sys.executable, __file__, str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,  # each child gets its own; not a terminal, as a pipe
            stderr=log,
            env=env,
        )
        theirs.close()
        return cls(process, ours, log)

    def popen_pytest(
        self,
        *args: str,
        cwd: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Child:
        """What ``pytester.popen([sys.executable, "-m", "pytest", *args])`` would start."""
        if self._child is not None and self._child.returncode is None:
            raise RuntimeError("the previous child has not been waited for")
        where = os.fspath(cwd) if cwd is not None else os.getcwd()
        environ = dict(os.environ if env is None else env)
        # As pytester.popen: the working directory first on PYTHONPATH.
        environ["PYTHONPATH"] = os.pathsep.join(filter(None, [where, environ.get("PYTHONPATH")]))
        request = json.dumps({"cwd": where, "env": environ, "argv": list(args)}).encode()
        out_r, out_w = os.pipe()
        stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed by Child.communicate)
        try:
            socket.send_fds(self._sock, [request], [out_w, stderr.fileno()])
        finally:
            os.close(out_w)
        pid = self._read_number(timeout=60)
        self._child = Child(self, pid, os.fdopen(out_r, "rb", buffering=0), stderr)
        return self._child

    def status_ready(self) -> bool:
        with selectors.DefaultSelector() as selector:
            selector.register(self._sock, selectors.EVENT_READ)
            return bool(selector.select(0))

    def read_status(self, timeout: float | None) -> int:
        return self._read_number(timeout)

    def _read_number(self, timeout: float | None) -> int:
        self._sock.settimeout(timeout)
        try:
            message = self._sock.recv(_NUMBER.size)
        except TimeoutError:
            raise TimeoutError("the zygote's child did not finish in time") from None
        if not message:
            self._log.seek(0)
            raise RuntimeError(f"the zygote died:\n{self._log.read().decode(errors='replace')}")
        (number,) = _NUMBER.unpack(message)
        return int(number)

    def close(self) -> None:
        if self._child is not None and self._child.returncode is None:
            self._child.kill()
            self._child.wait(timeout=60)
        self._sock.close()  # the zygote reads the end of its requests and exits
        self._process.wait(timeout=60)
        self._log.close()

    def __enter__(self) -> Zygote:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


# --- the zygote's side ----------------------------------------------------------------------


def _status(info: Any) -> int:
    """``subprocess.Popen``'s convention: the exit code, or minus the signal that ended it."""
    if info.si_code == os.CLD_EXITED:
        return int(info.si_status)
    return -int(info.si_status)


def _serve(sock: socket.socket, base_path: list[str]) -> None:
    unreaped: int | None = None
    while True:
        request, fds, _, _ = socket.recv_fds(sock, _MAX_REQUEST, 2)
        if unreaped is not None:  # the test has read its status: the pid may be reused now
            os.waitpid(unreaped, 0)
            unreaped = None
        if not request:
            return
        if threading.active_count() != 1:
            raise RuntimeError("the zygote must be single-threaded to fork")
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _become_pytest(sock, fds, json.loads(request), base_path)
        for fd in fds:
            os.close(fd)
        sock.send(_NUMBER.pack(pid))
        # WNOWAIT: the status is known but the child stays a zombie, its pid still taken.
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
        sock.send(_NUMBER.pack(_status(info)))
        unreaped = pid


def _become_pytest(
    sock: socket.socket, fds: Sequence[int], request: dict[str, Any], base_path: list[str]
) -> None:
    """In the forked child: turn into ``python -m pytest ARGS`` and never return."""
    code = 1
    try:
        sock.close()
        out, err = fds
        devnull = os.open(os.devnull, os.O_RDONLY)
        for fd, target in ((devnull, 0), (out, 1), (err, 2)):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        # sys.path as a fresh 'python -m' builds it: the working directory, PYTHONPATH, the rest.
        extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        sys.path[:] = [os.getcwd(), *extra, *base_path]
        sys.dont_write_bytecode = bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))
        # Python's own handler, as at the start of an interpreter whose SIGINT is not ignored.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        import pytest

        importlib.invalidate_caches()
        sys.argv = [str(Path(pytest.__file__).with_name("__main__.py")), *request["argv"]]
        code = int(pytest.main(request["argv"]))  # what 'python -m pytest' runs
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except KeyboardInterrupt:
        end_by_sigint()
    except BaseException:
        import traceback

        traceback.print_exc()
    run_exit_functions()
    os._exit(code)


def end_by_sigint() -> None:
    """What the interpreter does with an unhandled ``KeyboardInterrupt`` (after printing its
    traceback): run the exit functions, then end by the signal itself."""
    run_exit_functions()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)


def run_exit_functions() -> None:
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


class _ImportHeavy:
    """A plugin for the zygote's one warm-up run of pytest."""

    def __init__(self, modules: Sequence[str]) -> None:
        self._modules = modules

    def pytest_configure(self) -> None:
        # Imported while pytest's assertion-rewriting import hook is in place, as in a fresh
        # 'python -m pytest' (which loads the plugin, and so the SDK, through it): the children's
        # pytest then finds the plugins' modules already rewritten and does not warn that it
        # cannot rewrite them.
        from heavy_imports import import_heavy

        import_heavy()
        for name in self._modules:
            importlib.import_module(name)


def interpreter_path() -> list[str]:
    """``sys.path`` without this script's directory: what a fresh interpreter has after the
    entries it puts in front (the working directory or script's, ``PYTHONPATH``)."""
    here = Path(__file__).resolve().parent
    return [p for p in sys.path if p and Path(p).resolve() != here]


def warm_up(*modules: str) -> list[str]:
    """Imports what a pytest run imports, the heavy modules and ``modules``, as pytest does;
    returns ``interpreter_path()`` as it was before."""
    base_path = interpreter_path()
    import pytest

    with tempfile.TemporaryDirectory() as empty:
        ini = Path(empty, "pytest.ini")
        ini.write_text("[pytest]\n")
        os.chdir(empty)
        # Collects nothing; loads pytest's plugins from their entry points, then the heavy ones.
        args = [
            "-c",
            str(ini),
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:llmeval",
        ]
        pytest.main([*args, empty], plugins=[_ImportHeavy(modules)])
    return base_path


def _main() -> None:
    sock = socket.socket(fileno=int(sys.argv[1]))
    base_path = warm_up()
    _serve(sock, base_path)


if __name__ == "__main__":
    _main()
