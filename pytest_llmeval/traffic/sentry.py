"""Model requests made outside every ``llm`` test: refused while the run replays, else noted.

The recorder patches the SDK's transports only while an ``llm`` test runs. A request made at
any other time went to the API unseen: at import or collection, in a session-scoped fixture or
a conftest hook, from a thread or task a test left running, in a test without the ``llmeval``
fixture. In replay it carried the placeholder key to the network; in record mode it was neither
recorded nor counted, and the next replay broke on it with no hint why.

The sentry sits under the recorders for the whole run, on the same transports (patched when
their module is imported, so a plain suite never imports them for it), and while no recorder
runs it takes every request to the API's address (``guard.api_addresses``: the configured
base URL's, and api.anthropic.com's). When the run replays, the request is refused with an
answer the SDK does not retry, naming when it was made and what to do; a run's socket guard
refuses other clients the same way. Otherwise it is sent, and noted. Either way ``stray``
holds the reason, once per distinct reason with its count, for the run's summary.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from types import ModuleType
from typing import TYPE_CHECKING, Any

from pytest_llmeval.traffic.guard import (
    ENV_REPLACED,
    NetworkGuard,
    api_addresses,
    replaced_base_url,
)
from pytest_llmeval.traffic.wire import is_model_request, patch_attribute

if TYPE_CHECKING:
    import httpx2

#: Recorders between ``start`` and ``stop``, in this process: the sentry steps aside for them.
_recording = 0
_lock = threading.Lock()
#: Set while a recorder handles a request: one that reaches the network after its test's
#: recorder stopped (in flight at the end of the test) is that recorder's to count and report.
HANDLED: ContextVar[bool] = ContextVar("llmeval_handled_by_a_recorder", default=False)

_HTTPX = "httpx2"
_AIOHTTP = "anthropic._vendor.httpx_aiohttp.transport"
#: What to do about a request made outside every llm test.
ADVICE = (
    "Make model calls inside a test marked @pytest.mark.llm that uses the llmeval fixture, in "
    "the test's own process; a thread or task the test starts must end before it does; calls "
    "at import time, in a session-scoped fixture, a conftest hook or a subprocess are never "
    "recorded"
)


#: The sentries of the runs in this process, innermost last (a run inside a test of another).
_sentries: list[Sentry] = []


def api_used(request: httpx2.Request) -> None:
    """A recorder saw the SDK call this address: the run's sentry watches it from now on (a
    client built with ``base_url=`` another gateway than ``ANTHROPIC_BASE_URL``'s)."""
    if _sentries:
        _sentries[-1].learned.add(_address(request))


def _address(request: httpx2.Request) -> tuple[str, int]:
    url = request.url
    return url.host.lower(), url.port or (443 if url.scheme == "https" else 80)


def recorder_started() -> None:
    global _recording
    with _lock:
        _recording += 1
        if _recording == 1 and _sentries:
            _sentries[-1].redirect_children(True)


def recorder_stopped() -> None:
    global _recording
    with _lock:
        _recording = max(0, _recording - 1)
        if _recording == 0 and _sentries:
            _sentries[-1].redirect_children(False)


@contextmanager
def handling() -> Iterator[None]:
    """Around a recorder's handling of one request (in the thread's or task's own context)."""
    token = HANDLED.set(True)
    try:
        yield
    finally:
        HANDLED.reset(token)


def outside_tests() -> bool:
    return _recording == 0


class Sentry:
    """Install once per run (``start``), remove at its end (``stop``).

    ``refuse``: the run replays (nothing may reach the network). ``where``: when the request
    was made, in words ("during collection", "while test_x ran").
    """

    def __init__(
        self,
        *,
        refuse: bool,
        base_url: str | None,
        where: Callable[[], str],
        children: bool = True,
        worker: bool = False,
    ) -> None:
        """``children``: when the run replays, refuse other processes' requests too (off when
        the run calls the API on purpose: a candidate model, regrades). ``worker``: the run is
        an xdist worker (its controller refuses its children's requests)."""
        self.refuse = refuse
        self._children = children
        self._worker = worker
        self._base_url = base_url
        self.addresses = api_addresses(base_url)
        self._where = where
        #: Reason -> how many requests it stood for.
        self.stray: Counter[str] = Counter()
        #: Addresses the run's llm tests called the model API at (``api_used``).
        self.learned: set[tuple[str, int]] = set()
        self._stray_lock = threading.Lock()
        self._undo: list[Callable[[], None]] = []
        self._finder: _PatchOnImport | None = None
        #: The refusal's address while the run replays, and ``ANTHROPIC_BASE_URL`` as it was
        #: while no llm test runs (``redirect_children``).
        self._redirect: str | None = None
        self._base_url_saved: str | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        _sentries.append(self)
        patches: dict[str, Callable[[ModuleType], None]] = {
            _HTTPX: self._patch_httpx,
            _AIOHTTP: self._patch_aiohttp,
        }
        waiting: dict[str, Callable[[ModuleType], None]] = {}
        for name, patch in patches.items():
            module = sys.modules.get(name)
            if module is not None:
                patch(module)
            else:
                waiting[name] = patch
        if waiting:
            self._finder = _PatchOnImport(waiting)
            sys.meta_path.insert(0, self._finder)
        if self.refuse and self._children:
            self._refuse_other_processes()
        if self.refuse:
            guard = NetworkGuard(self._base_url, self._blocked, applies=outside_tests)
            guard.start()
            self._undo.append(guard.stop)

    def stop(self) -> None:
        if self in _sentries:
            _sentries.remove(self)
        if self._finder is not None and self._finder in sys.meta_path:
            sys.meta_path.remove(self._finder)
        self._finder = None
        while self._undo:
            self._undo.pop()()

    def _refuse_other_processes(self) -> None:
        """A process an llm test starts (``subprocess.run([sys.executable, "app.py"])``) loads
        no plugin: in replay it reached the API with the placeholder key. It inherits the
        environment, so while an llm test runs ``ANTHROPIC_BASE_URL`` points at a refusal
        served here (``redirect_children``); the test's own requests never leave this process,
        wherever they are addressed (a cassette matches on path, query and body, never on
        host). Between llm tests the variable is the user's: a plain test that reads it (or
        builds a client and checks its URL) sees what it set."""
        current = os.environ.get("ANTHROPIC_BASE_URL")
        self._base_url_saved = current
        replaced = replaced_base_url()
        if replaced is not None and self._worker:
            # The refusal its xdist controller serves answers a worker's children; the
            # controller lists them. (A run inside a test of another serves its own.)
            self._redirect = replaced[0]
            self.addresses = api_addresses(replaced[0])
            return
        from pytest_llmeval.traffic.refusal import Refusal

        server = Refusal(self.from_another_process)
        url = f"http://127.0.0.1:{server.port}"
        saved = os.environ.get(ENV_REPLACED)
        os.environ[ENV_REPLACED] = f"{url} {current or '-'}"
        self._redirect = url
        # The base URL's (it names it as replaced), and an outer run's it may be inside of.
        self.addresses = self.addresses | api_addresses(url)

        def undo() -> None:
            server.close()
            self.redirect_children(False)
            if saved is None:
                os.environ.pop(ENV_REPLACED, None)
            else:
                os.environ[ENV_REPLACED] = saved

        self._undo.append(undo)

    def redirect_children(self, on: bool) -> None:
        """Point ``ANTHROPIC_BASE_URL`` at the refusal while an llm test runs; put it back."""
        if self._redirect is None:
            return
        if on:
            current = os.environ.get("ANTHROPIC_BASE_URL")
            if current != self._redirect:  # else left by a monkeypatch undone after the test
                self._base_url_saved = current
            os.environ["ANTHROPIC_BASE_URL"] = self._redirect
        elif os.environ.get("ANTHROPIC_BASE_URL") == self._redirect:
            # Unless the test set it itself (monkeypatch undoes its own at teardown).
            if self._base_url_saved is None:
                os.environ.pop("ANTHROPIC_BASE_URL", None)
            else:
                os.environ["ANTHROPIC_BASE_URL"] = self._base_url_saved

    def from_another_process(self, method: str, path: str) -> str:
        """Note a request the refusal answered; the message its process gets."""
        what = f"{method} {path} {self._where()}"
        self._note(f"{what}, from another process: refused, nothing was sent")
        return (
            f"llmeval: a model API request came from another process ({what}) and was not "
            "sent: the run replays, and a subprocess's calls are never recorded. Make the "
            "call in the test's own process (import the code rather than run it)"
        )

    # --- what it does with a request --------------------------------------------------------

    def _note(self, reason: str) -> None:
        with self._stray_lock:
            self.stray[reason] += 1

    def _blocked(self, reason: str) -> None:
        self._note(f"{self._where()}: {reason}")

    def _is_stray(self, request: httpx2.Request) -> bool:
        if not outside_tests() or HANDLED.get() or not is_model_request(request.headers):
            return False
        address = _address(request)
        return address in self.addresses or address in self.learned

    def _answer(self, request: httpx2.Request) -> httpx2.Response | None:
        """The refusal of a stray request in replay; ``None``: send it (noted)."""
        when = self._where()
        thread = threading.current_thread()
        if thread is not threading.main_thread():
            when += f", from thread {thread.name!r}"
        what = f"{request.method} {request.url.path} {when}"
        if not self.refuse:
            self._note(f"{what}: sent, not recorded, cached or counted")
            return None
        self._note(f"{what}: refused, nothing was sent")
        from pytest_llmeval.traffic.miss import miss_response

        reason = (
            f"llmeval: a model API request was made outside every llm test ({what}) and "
            f"not sent: replay never reaches the network. {ADVICE}"
        )
        return miss_response(request, reason, "llmeval_outside_test")

    # --- the transports ---------------------------------------------------------------------

    def _patch_httpx(self, module: ModuleType) -> None:
        sync_inner = module.HTTPTransport.handle_request
        async_inner = module.AsyncHTTPTransport.handle_async_request
        sentry = self

        def handle_request(transport: Any, request: httpx2.Request) -> httpx2.Response:
            if sentry._is_stray(request):
                refused = sentry._answer(request)
                if refused is not None:
                    return refused
            return sync_inner(transport, request)  # type: ignore[no-any-return]

        self._undo += [
            patch_attribute(module.HTTPTransport, "handle_request", handle_request),
            patch_attribute(
                module.AsyncHTTPTransport, "handle_async_request", self._async(async_inner)
            ),
        ]

    def _patch_aiohttp(self, module: ModuleType) -> None:
        transport = module.AiohttpTransport
        inner = transport.handle_async_request
        self._undo.append(patch_attribute(transport, "handle_async_request", self._async(inner)))

    def _async(self, inner: Any) -> Any:
        sentry = self

        async def handle_async_request(transport: Any, request: httpx2.Request) -> Any:
            if sentry._is_stray(request):
                refused = sentry._answer(request)
                if refused is not None:
                    return refused
            return await inner(transport, request)

        return handle_async_request


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Runs ``patches[name](module)`` once the module ``name`` is imported, by whoever."""

    def __init__(self, patches: dict[str, Callable[[ModuleType], None]]) -> None:
        self._patches = patches
        #: The module this finder is asking the others for (another run's finder, asked in
        #: turn, asks this one again).
        self._asking: str | None = None

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        patch = self._patches.get(fullname)
        if patch is None or self._asking == fullname:
            return None
        self._asking = fullname
        try:
            return self._spec(fullname, path, target, patch)
        finally:
            self._asking = None

    def _spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None,
        patch: Callable[[ModuleType], None],
    ) -> importlib.machinery.ModuleSpec | None:
        # The spec the import would have used: asked of the other finders (an editable
        # install or a zip has finders of its own).
        spec = spec_from_finders(fullname, path, target, skip=self)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            del self._patches[fullname]
            spec.loader = _ThenPatch(spec.loader, patch)
        return spec


def spec_from_finders(
    fullname: str,
    path: Sequence[str] | None,
    target: ModuleType | None,
    skip: object = None,
) -> importlib.machinery.ModuleSpec | None:
    """The first spec ``sys.meta_path``'s finders (but ``skip``) give for ``fullname``: what
    an import that went past the front of the list would have found."""
    for finder in list(sys.meta_path):
        find = getattr(finder, "find_spec", None)
        if finder is skip or find is None:
            continue
        spec = find(fullname, path, target)
        if spec is not None:
            return spec  # type: ignore[no-any-return]
    return None


class _ThenPatch(importlib.abc.Loader):
    def __init__(self, loader: Any, patch: Callable[[ModuleType], None]) -> None:
        self._loader = loader
        self._patch = patch

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)  # type: ignore[no-any-return]

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        self._patch(module)

    def __getattr__(self, name: str) -> Any:
        # Resource readers and the like: the module's loader is still the real one's.
        return getattr(self._loader, name)
