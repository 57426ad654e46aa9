"""A fork server for the suite's xdist workers: each ``-n 2`` run's two worker interpreters
start in milliseconds instead of seconds.

A real worker is ``python -u -c "import sys;exec(eval(sys.stdin.readline()))"``, started by
execnet's popen gateway and fed the gateway's code over its stdin; it then imports pytest,
xdist, the plugin (from its entry point) and, once a test asks the model, the SDK, vcrpy and
the rest: about 3.5 s of CPU per worker, against 0.15 s for a forked one. Here xdist is given
``--tx 2*popen//python=...`` (its documented way to choose the workers' interpreter) naming
``worker_python.py``, which passes its stdin/stdout/stderr, working directory, environment and
arguments to this server. The server, started once per test process (``xdist_workers``), has
done one pytest run that imported the libraries, and forks a child per worker that runs the
``-c`` code as ``python -c`` would: ``sys.argv``, ``sys.path`` ('' first, then
``PYTHONPATH``), a fresh ``__main__``, new standard streams on the passed descriptors
(unbuffered for ``-u``), Python's SIGINT handler, and the interpreter's way of ending.

So the runs stay real pytest-xdist: real worker processes, execnet's gateway bootstrapped over
their pipes, each worker building its own config from the controller's arguments and loading
the plugin (and every other plugin) through pytest's entry points, results crossing the
channel as they do for a user. What differs from a user's run:

- The libraries (pytest and its plugins, xdist, execnet, the SDK, httpx2, vcrpy, PyYAML,
  diskcache, jsonschema) were imported before the worker's config existed, in the warm-up
  run, under pytest's assertion-rewriting hook as in a fresh worker. The plugin was not: the
  server drops its modules after the warm-up, and each worker imports it from its entry point.
  Acceptable because none of those libraries keeps anything of a run from its import: the
  plugin makes its clients, cassettes and caches per run, its state lives in ``config.stash``.
- The workers share the server's hash seed (nothing the plugin sends depends on it).
- ``-n 2`` is spelled ``--tx 2*popen//python=... --max-worker-restart=8`` (the restart limit
  ``-n 2`` implies), with the tests' own ``--dist load``; and execnet sends a ``python=``
  gateway its own source instead of importing it, as for any user who names an interpreter.

The server is single-threaded (``fork`` copies only the calling thread, and a lock another
thread held would stay locked in the child), never the test process (which runs the stand-in's
threads); it runs in its own session, so a terminal's Ctrl-C reaches the workers once, through
``worker_python.py``, as it reaches real workers once. Its children close every descriptor of
the server's before they run (a fresh interpreter has only the three it was given). Where
``fork``, ``pidfd_open`` or ``SCM_RIGHTS`` are missing, ``xdist_workers`` gives plain ``-n 2``.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import json
import os
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import traceback
import types
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from selectors import EVENT_READ, PollSelector
from typing import IO, Any, TextIO

from zygote import end_by_sigint, interpreter_path, run_exit_functions, warm_up

WRAPPER = Path(__file__).with_name("worker_python.py")
#: One signed 64-bit number a message: a signal to pass on, or the child's Popen-style status.
_NUMBER = struct.Struct("!q")
_MAX_REQUEST = 1 << 20


@contextlib.contextmanager
def xdist_workers(count: int) -> Iterator[tuple[str, ...]]:
    """xdist's arguments for ``count`` workers, to go with a ``--dist`` mode: forked by a
    server started here where the platform allows, plain ``-n COUNT`` (real interpreters) where
    it does not."""
    needed = ((os, "fork"), (os, "pidfd_open"), (socket, "send_fds"))
    if not all(hasattr(module, name) for module, name in needed):
        yield ("-n", str(count))
        return
    server = WorkerZygote.start()
    try:
        yield server.tx(count)
    finally:
        server.close()


# --- the test's side ------------------------------------------------------------------------


class WorkerZygote:
    """The suite's handle on the fork server; any number of workers at once."""

    def __init__(
        self, process: subprocess.Popen[bytes], control: socket.socket, home: str, log: IO[bytes]
    ) -> None:
        self._process = process
        self._control = control  # the server exits when this closes
        self._home = home
        self._log = log

    @classmethod
    def start(cls, *, warm: bool = True) -> WorkerZygote:
        """``warm=False`` skips the warm-up: workers then import what they need themselves (the
        tests of the server's mechanics, which run no pytest)."""
        # A short path: a unix socket's address is at most ~100 bytes, pytester's paths are long.
        home = tempfile.mkdtemp(prefix="llmeval-workers-")
        # Bound and listening before the server starts: a worker that comes during its warm-up
        # waits in the backlog instead of finding no one there.
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        listener.bind(os.path.join(home, "server"))
        listener.listen(16)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # each worker sets it
        process = subprocess.Popen(
            [sys.executable, __file__, str(theirs.fileno()), str(listener.fileno()), str(warm)],
            pass_fds=[theirs.fileno(), listener.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=env,
            start_new_session=True,
        )
        theirs.close()
        listener.close()
        return cls(process, ours, home, log)

    @property
    def python(self) -> list[str]:
        """The command that stands for ``python``: its arguments follow."""
        return [sys.executable, "-S", str(WRAPPER), os.path.join(self._home, "server")]

    def tx(self, workers: int) -> tuple[str, ...]:
        """What ``-n WORKERS`` means to xdist, the workers started through this server; unlike
        ``-n``, ``--tx`` leaves ``--dist`` at ``no`` (tests run in the controller): pass one."""
        python = shlex.join(self.python)
        # -n N also sets how many crashed workers are replaced before the run gives up.
        return ("--tx", f"{workers}*popen//python={python}", f"--max-worker-restart={4 * workers}")

    def close(self) -> None:
        self._control.close()
        try:
            status = self._process.wait(timeout=60)
        finally:
            shutil.rmtree(self._home, ignore_errors=True)
            self._log.seek(0)
            log = self._log.read().decode(errors="replace")
            self._log.close()
        if status != 0:
            raise RuntimeError(f"the workers' fork server ended with status {status}:\n{log}")


# --- the server's side ----------------------------------------------------------------------


@dataclass
class _Worker:
    pid: int
    #: Until the worker is reaped. A batch of events may hold one for a descriptor an earlier
    #: event closed: the fields say which of this worker's are still live.
    pidfd: int | None
    #: ``worker_python.py``'s connection, until it closes.
    wrapper: socket.socket | None


def _serve(control: socket.socket, listener: socket.socket, base_path: list[str]) -> None:
    with PollSelector() as selector:  # no descriptor of its own for the children to inherit
        selector.register(control, EVENT_READ)
        selector.register(listener, EVENT_READ)
        while True:
            for key, _ in selector.select():
                worker: _Worker | None = key.data
                if key.fileobj is control:
                    control.recv(1)  # only ever closed: the suite is done
                    _kill_all(selector)
                    return
                if key.fileobj is listener:
                    wrapper, _ = listener.accept()
                    inherited = [k.fileobj for k in selector.get_map().values()]
                    try:
                        worker = _fork(wrapper, inherited, base_path)
                    except OSError as error:  # that one wrapper's fault: it ends, status 1
                        print(f"a worker not started: {error!r}", file=sys.stderr, flush=True)
                        wrapper.close()
                        continue
                    selector.register(wrapper, EVENT_READ, worker)
                    selector.register(worker.pidfd, EVENT_READ, worker)
                elif worker is not None and key.fileobj is worker.wrapper:
                    _pass_on(selector, worker)
                elif worker is not None and key.fileobj == worker.pidfd:
                    _report_end(selector, worker)


def _pass_on(selector: PollSelector, worker: _Worker) -> None:
    """A signal ``worker_python.py`` was sent, or its end: then nothing stands for the worker."""
    assert worker.wrapper is not None
    message = worker.wrapper.recv(_NUMBER.size)
    # Not reaped yet (that waits for its pidfd, below): the pid is still the worker's.
    if message:
        os.kill(worker.pid, _NUMBER.unpack(message)[0])
        return
    os.kill(worker.pid, signal.SIGKILL)
    selector.unregister(worker.wrapper)
    worker.wrapper.close()
    worker.wrapper = None


def _report_end(selector: PollSelector, worker: _Worker) -> None:
    assert worker.pidfd is not None
    _, status = os.waitpid(worker.pid, 0)
    selector.unregister(worker.pidfd)
    os.close(worker.pidfd)
    worker.pidfd = None
    if worker.wrapper is not None:
        worker.wrapper.send(_NUMBER.pack(os.waitstatus_to_exitcode(status)))
        selector.unregister(worker.wrapper)
        worker.wrapper.close()
        worker.wrapper = None


def _kill_all(selector: PollSelector) -> None:
    for key in list(selector.get_map().values()):
        worker: _Worker | None = key.data
        if worker is not None and key.fileobj == worker.pidfd:
            os.kill(worker.pid, signal.SIGKILL)
            _report_end(selector, worker)


def _fork(wrapper: socket.socket, inherited: Sequence[Any], base_path: list[str]) -> _Worker:
    wrapper.settimeout(30)  # worker_python.py sends at once; never wait on one forever
    message, fds, _, _ = socket.recv_fds(wrapper, _MAX_REQUEST, 3)
    wrapper.settimeout(None)
    if len(fds) != 3:
        raise RuntimeError(f"a worker came with {len(fds)} descriptors, not its three")
    if threading.active_count() != 1:
        raise RuntimeError("the workers' fork server must be single-threaded to fork")
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        for held in [*inherited, wrapper]:
            if isinstance(held, int):
                os.close(held)
            else:
                held.close()
        _become_worker(fds, json.loads(message), base_path)
    for fd in fds:
        os.close(fd)
    return _Worker(pid, os.pidfd_open(pid), wrapper)


def _become_worker(fds: Sequence[int], request: dict[str, Any], base_path: list[str]) -> None:
    """In the forked child: turn into ``python [-u] [-B] -c CODE`` and never return."""
    code = 1
    try:
        for fd, target in zip(fds, (0, 1, 2), strict=True):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        sys.path[:] = ["", *extra, *base_path]  # as 'python -c' builds it
        sys.dont_write_bytecode = request["dont_write_bytecode"] or bool(
            os.environ.get("PYTHONDONTWRITEBYTECODE")
        )
        sys.argv = request["argv"]
        _standard_streams(unbuffered=request["unbuffered"])
        signal.signal(signal.SIGINT, signal.default_int_handler)
        import importlib

        importlib.invalidate_caches()
        main = types.ModuleType("__main__")
        main.__builtins__ = builtins  # type: ignore[attr-defined]
        sys.modules["__main__"] = main
        exec(compile(request["code"], "<string>", "exec"), main.__dict__)
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc)
    except KeyboardInterrupt:
        traceback.print_exc()  # as the interpreter does, before it ends by the signal
        end_by_sigint()
    except BaseException:
        traceback.print_exc()
    run_exit_functions()
    os._exit(code)


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def _standard_streams(*, unbuffered: bool) -> None:
    """New ``sys.stdin``/``stdout``/``stderr`` on descriptors 0-2, as the interpreter makes them
    at start (the server's are buffered over other files)."""

    def stream(fd: int, old: TextIO) -> TextIO:
        if fd == 0:
            return io.TextIOWrapper(open(0, "rb", closefd=False), old.encoding, old.errors)
        binary = open(fd, "wb", buffering=0 if unbuffered else -1, closefd=False)  # noqa: SIM115
        line_buffered = not unbuffered and (fd == 2 or os.isatty(fd))
        return io.TextIOWrapper(
            binary,  # type: ignore[arg-type]
            old.encoding,
            old.errors,
            line_buffering=line_buffered,
            write_through=unbuffered,
        )

    sys.stdin = sys.__stdin__ = stream(0, sys.__stdin__)  # type: ignore[misc,arg-type]
    sys.stdout = sys.__stdout__ = stream(1, sys.__stdout__)  # type: ignore[misc,arg-type]
    sys.stderr = sys.__stderr__ = stream(2, sys.__stderr__)  # type: ignore[misc,arg-type]


def _main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    listener = socket.socket(fileno=int(sys.argv[2]))
    # What a worker's code imports besides what a pytest run does: execnet's gateway and
    # xdist's worker side (sent as source, its imports resolved here).
    if sys.argv[3] == "True":
        base_path = warm_up("execnet", "xdist.remote")
        _forget_the_plugin()
    else:
        base_path = interpreter_path()
    _serve(control, listener, base_path)


def _forget_the_plugin() -> None:
    """Each worker imports the plugin itself, from its entry point, as a user's worker does.

    Whether pytest rewrites its asserts depends on the worker's ``sys.path`` (xdist sets the
    controller's): with the checkout on it, ``pytest_llmeval`` is found there and marked for
    rewriting, and a worker that found it already imported (through the editable install's
    finder, unrewritten) would warn that it cannot rewrite it. So only the worker can import it
    as a fresh one does. Its modules are pure Python and change nothing outside themselves when
    imported: importing them again costs a fraction of a second and leaves the libraries' state
    as it was.
    """
    for name in [n for n in sys.modules if n.split(".")[0] == "pytest_llmeval"]:
        del sys.modules[name]


if __name__ == "__main__":
    _main()
