"""Replay never reaches the model API, whatever client a test uses.

The recorder answers the SDK's own clients (httpx2 and aiohttp transports). A client it does
not know (plain httpx, requests, a hand-made socket) would go straight to the API, with the
placeholder key. While a test replays, this guard refuses name lookups of the API's host and
connections to its address (``ANTHROPIC_BASE_URL``'s, and api.anthropic.com's whatever that
says: an app may call the real host directly beside a proxy), and says which client tried;
every other connection (a local database, a test server) is left alone. ``offline`` puts a
replaying test in all it needs: the guard, a placeholder credential for the SDK's clients, and
the judge answered directly.
"""

from __future__ import annotations

import functools
import os
import socket
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from pytest_llmeval.traffic.direct import Answering

DEFAULT_BASE_URL = "https://api.anthropic.com"
#: Modules that name a client in the message, outermost first.
_CLIENTS = ("aiohttp", "httpx2", "httpx", "requests", "urllib3", "urllib.request", "http.client")


class ReplayNetworkBlocked(ConnectionRefusedError):
    """Raised to the client that tried to reach the model API during replay."""


@functools.lru_cache(maxsize=8)
def api_address(base_url: str | None) -> tuple[str, int]:
    """(host, port) of the model API the SDK would call (a run has one or two: parsed once)."""
    parts = urlsplit(base_url or DEFAULT_BASE_URL)
    host = (parts.hostname or "api.anthropic.com").lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return host, port


def _client_name() -> str:
    """The HTTP library in the current call stack, for the message."""
    frame = sys._getframe(2)
    found = ""
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        for client in _CLIENTS:
            if module == client or module.startswith(client + "."):
                found = client  # keep walking: the outermost library is the one the app used
        frame = frame.f_back  # type: ignore[assignment]
    return found or "an unknown client"


#: While a replaying run points ``ANTHROPIC_BASE_URL`` at its refusal of other processes'
#: requests (``sentry``): "<that address> <the base URL it replaced, or ->".
ENV_REPLACED = "LLMEVAL_REPLACED_BASE_URL"


def replaced_base_url() -> tuple[str, str | None] | None:
    """(the refusal's address, the base URL it replaced) while a run replaces it."""
    value = os.environ.get(ENV_REPLACED, "")
    refusal, _, original = value.partition(" ")
    if not refusal or not original:
        return None
    return refusal, None if original == "-" else original


def api_addresses(base_url: str | None) -> frozenset[tuple[str, int]]:
    """The addresses replay must not reach: the configured API's and the real API's (and,
    while a run replaced the configured one, the one it replaced)."""
    addresses = {api_address(base_url), api_address(None)}
    replaced = replaced_base_url()
    if replaced is not None:
        addresses |= {api_address(replaced[0]), api_address(replaced[1])}
    return frozenset(addresses)


class NetworkGuard:
    """Install for the duration of a replaying test; ``on_block`` hears what was refused.

    ``applies``: asked at each lookup and connection, the guard steps aside while it says no
    (the run's guard, ``sentry``, leaves an llm test to the test's own)."""

    def __init__(
        self,
        base_url: str | None,
        on_block: Callable[[str], None],
        applies: Callable[[], bool] | None = None,
    ) -> None:
        self.addresses = api_addresses(base_url)
        self._hosts = frozenset(host for host, _ in self.addresses)
        self._on_block = on_block
        self._applies = applies
        self._undo: list[Callable[[], None]] = []

    def _refuse(self, target: str) -> ReplayNetworkBlocked:
        message = (
            f"{_client_name()} tried to reach the model API at {target} during replay; "
            "nothing was sent. Replay never touches the network: use the anthropic SDK's "
            "client (httpx or aiohttp, which the plugin records and replays), and record with "
            "--llmeval-mode=record"
        )
        self._on_block(message)
        return ReplayNetworkBlocked(f"llmeval: {message}")

    def _is_api(self, host: Any, port: Any) -> bool:
        name = str(host).lower().strip("[]")
        if name not in self._hosts or (self._applies is not None and not self._applies()):
            return False
        return port is None or (name, port) in self.addresses

    def start(self) -> None:
        real_getaddrinfo = socket.getaddrinfo
        real_connect = socket.socket.connect
        real_connect_ex = socket.socket.connect_ex
        guard = self

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if guard._is_api(host, _port(port)):
                raise guard._refuse(f"{host}:{port}")
            return real_getaddrinfo(host, port, *args, **kwargs)

        def connect(sock: socket.socket, address: Any) -> None:
            if _is_inet(address) and guard._is_api(address[0], address[1]):
                raise guard._refuse(f"{address[0]}:{address[1]}")
            real_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> int:
            if _is_inet(address) and guard._is_api(address[0], address[1]):
                raise guard._refuse(f"{address[0]}:{address[1]}")
            return real_connect_ex(sock, address)

        socket.getaddrinfo = getaddrinfo
        socket.socket.connect = connect  # type: ignore[method-assign,assignment]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]

        def undo() -> None:
            socket.getaddrinfo = real_getaddrinfo
            socket.socket.connect = real_connect  # type: ignore[method-assign]
            socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]

        self._undo.append(undo)

    def stop(self) -> None:
        while self._undo:
            self._undo.pop()()


def _port(port: Any) -> int | None:
    try:
        return int(port) if port is not None else None
    except (TypeError, ValueError):
        return None


def _is_inet(address: Any) -> bool:
    return isinstance(address, tuple) and len(address) >= 2 and isinstance(address[0], str)


def offline(
    answer: Answering, on_block: Callable[[str], None]
) -> tuple[NetworkGuard, list[Callable[[], None]]]:
    """A replaying test's surroundings, for its duration: ``PLACEHOLDER_KEY`` in each
    credential variable a client would miss (the SDK refuses to build one without; replay needs
    none), ``answer`` asked first for the judge's grades (``direct``), and the guard, which
    tells ``on_block`` what it refused. The guard, and the functions that undo it all, in the
    order they were applied."""
    from pytest_llmeval.constants import PLACEHOLDER_KEY, REPLAY_PLACEHOLDERS
    from pytest_llmeval.traffic.direct import answering

    undo: list[Callable[[], None]] = []
    for name, present in REPLAY_PLACEHOLDERS:
        if not any(os.environ.get(n) for n in present):
            os.environ[name] = PLACEHOLDER_KEY
            undo.append(functools.partial(_forget, name))
    undo.append(answering(answer))
    guard = NetworkGuard(os.environ.get("ANTHROPIC_BASE_URL"), on_block)
    guard.start()
    undo.append(guard.stop)
    return guard, undo


def _forget(name: str) -> None:
    os.environ.pop(name, None)
