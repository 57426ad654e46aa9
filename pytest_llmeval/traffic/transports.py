"""Where the SDK's requests are caught: the transports of its httpx2 clients and of its
vendored aiohttp client. Each patched method hands the request to the recorder with the
method it replaced (wrapped by vcrpy's stub when a cassette is in use) and the transport's own
method (``raw``): an answer from the network goes around vcrpy, which would read it whole."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from pytest_llmeval.traffic.wire import patch_attribute

if TYPE_CHECKING:
    import httpx2

SyncHandler = Callable[[Any, Any, Any, "httpx2.Request"], "httpx2.Response"]
AsyncHandler = Callable[[Any, Any, Any, "httpx2.Request"], Awaitable["httpx2.Response"]]
#: httpx2's own ``HTTPTransport.handle_request`` and ``AsyncHTTPTransport.handle_async_request``.
Raw = tuple[Any, Any]


def unpatched() -> Raw:
    """The transports' own methods: read before vcrpy patches them."""
    import httpx2

    return httpx2.HTTPTransport.handle_request, httpx2.AsyncHTTPTransport.handle_async_request


def patch_transports(
    handle: SyncHandler, handle_async: AsyncHandler, cassette: Any, raw: Raw | None = None
) -> list[Callable[[], None]]:
    """Route every transport the SDK may use through ``handle``/``handle_async``; the
    functions that undo it, in the order they were applied. ``raw``: what ``unpatched`` gave
    before vcrpy patched (``None``: nothing patched them)."""
    import httpx2

    # Read after vcrpy patched them (when a cassette is in use): vcrpy sits below us.
    sync_inner = httpx2.HTTPTransport.handle_request
    async_inner = httpx2.AsyncHTTPTransport.handle_async_request
    sync_raw, async_raw = raw or (sync_inner, async_inner)

    def handle_request(transport: Any, request: httpx2.Request) -> httpx2.Response:
        return handle(sync_inner, sync_raw, transport, request)

    async def handle_async_request(transport: Any, request: httpx2.Request) -> httpx2.Response:
        return await handle_async(async_inner, async_raw, transport, request)

    undo = [
        patch_attribute(httpx2.HTTPTransport, "handle_request", handle_request),
        patch_attribute(httpx2.AsyncHTTPTransport, "handle_async_request", handle_async_request),
    ]
    undo += _patch_aiohttp(handle_async, cassette)
    return undo


@functools.cache
def _aiohttp_transport() -> Any:
    """The SDK's aiohttp transport class; ``None`` without aiohttp. Looked up once a process:
    every replayed test patches it, and ``find_spec`` searches the path while aiohttp is
    not imported yet."""
    import importlib.util

    if importlib.util.find_spec("aiohttp") is None:
        return None  # without aiohttp the SDK cannot build that client
    try:
        from anthropic._vendor.httpx_aiohttp.transport import AiohttpTransport
    except ImportError:
        return None
    return AiohttpTransport


def _patch_aiohttp(handle_async: AsyncHandler, cassette: Any) -> list[Callable[[], None]]:
    """The SDK's aiohttp client (``DefaultAioHttpClient``) has a transport of its own."""
    AiohttpTransport = _aiohttp_transport()
    if AiohttpTransport is None:
        return []
    import httpx2

    inner: Any = AiohttpTransport.handle_async_request
    raw = inner
    if cassette is not None:
        # vcrpy patches only httpx2's own transports; its stub wraps any transport method
        # (vcr.stubs.httpx_stubs has no public alias for it).
        from vcr.stubs.httpx_stubs import vcr_handle_async_request

        inner = vcr_handle_async_request(cassette, inner, httpx2)

    async def handle_async_request(transport: Any, request: httpx2.Request) -> httpx2.Response:
        return await handle_async(inner, raw, transport, request)

    return [patch_attribute(AiohttpTransport, "handle_async_request", handle_async_request)]
