"""What xdist starts in place of ``python`` for the suite's workers: ``python -S worker_python.py
SOCKET -u -c CODE``, named by ``--tx popen//python=...`` (see ``worker_zygote.py``).

It imports nothing but the standard library's small modules, so it starts in milliseconds. It
hands its stdin, stdout and stderr (``SCM_RIGHTS``), its working directory, environment and the
interpreter's arguments to the fork server listening on SOCKET, which forks a child that has
pytest, the SDK and the plugin imported and runs CODE as ``python -c`` would. Then it stands in
for that child: the signals it is sent are passed on to it, and it ends as the child ended (the
same exit code, or killed by the same signal), so execnet's ``Popen`` sees what it would have
seen of a real interpreter. If it is killed (SIGKILL, which it cannot pass on), the server sees
its connection close and kills the child.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import struct
import sys

#: The server's one reply: the child's status in ``subprocess.Popen``'s convention.
_STATUS = struct.Struct("!q")
#: Everything a terminal or a parent may send to end or poke a process, passed on as it came.
_FORWARDED = (
    signal.SIGINT,
    signal.SIGTERM,
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGUSR1,
    signal.SIGUSR2,
)
#: The interpreter options execnet's popen gateway passes (``execnet.gateway_io.popen_args``).
_FLAGS = {"-u": "unbuffered", "-B": "dont_write_bytecode"}


def _request(args: list[str]) -> dict[str, object]:
    flags = {name: False for name in _FLAGS.values()}
    while args and args[0] in _FLAGS:
        flags[_FLAGS[args.pop(0)]] = True
    if len(args) < 2 or args[0] != "-c":
        raise SystemExit(f"worker_python: expected [-u] [-B] -c CODE [ARG ...], got {args!r}")
    return {
        **flags,
        "code": args[1],
        "argv": ["-c", *args[2:]],  # sys.argv of 'python -c CODE ARG ...'
        "cwd": os.getcwd(),
        "env": dict(os.environ),
    }


def main() -> None:
    server_path, *args = sys.argv[1:]
    request = json.dumps(_request(args)).encode()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    server.connect(server_path)
    # The child may be running (and say it is ready) before the handlers below are in place: a
    # signal sent then would end this process by its default action, and the server would kill
    # the child it was meant for. Held back until they are, then passed on.
    signal.pthread_sigmask(signal.SIG_BLOCK, _FORWARDED)
    socket.send_fds(server, [request], [0, 1, 2])
    # The child holds stdin and stdout now: execnet sees them close when the child dies, as
    # with a real worker, not when this process does. Stderr stays, for the lines below.
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)

    def forward(signum: int, frame: object) -> None:
        # OSError: the child's status is on its way, nothing is left to pass it to.
        with contextlib.suppress(OSError):
            server.send(_STATUS.pack(signum))

    for signum in _FORWARDED:
        signal.signal(signum, forward)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _FORWARDED)
    reply = server.recv(_STATUS.size)  # retried after each forwarding handler (PEP 475)
    if not reply:
        sys.stderr.write("worker_python: the fork server went away before its child ended\n")
        sys.stderr.flush()
        os._exit(1)
    (status,) = _STATUS.unpack(reply)
    if status < 0:  # killed by a signal: end the same way
        if -status != signal.SIGKILL:  # the one of them that cannot be handled
            signal.signal(-status, signal.SIG_DFL)
        os.kill(os.getpid(), -status)
    os._exit(status & 0xFF if status >= 0 else 1)


if __name__ == "__main__":
    main()
