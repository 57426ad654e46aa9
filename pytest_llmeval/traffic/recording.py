"""Recording: a test's cassette through vcrpy, below our transport wrapper.

In record, rewrite and auto-recording runs vcrpy plays what the file holds; what it does not
hold goes to the network around vcrpy (``network_link``) and is handed to vcrpy here once its
body has ended; ``TrafficRecorder.stop`` then decides whether the recording is kept. Only
vcrpy's public API is used: ``VCR`` with a registered serializer, persister and matcher,
``use_cassette`` as a context manager, and the cassette's ``can_play_response_for``,
``append`` and ``dirty``. Which recording vcrpy played is read from a header we put on each
answer it holds (``recording_hooks.RECORDED_HEADER``): vcrpy has no public way to say it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_llmeval.traffic.cassettes import (
    AtomicPersister,
    CassetteFormat,
    SaveHook,
    display_path,
    json_body,
    same_beta,
)
from pytest_llmeval.traffic.closed_early import CLOSED_EARLY
from pytest_llmeval.traffic.recording_hooks import (
    MEASURED,
    RecordingHooks,
    mark_recorded,
    recorded_meta,
)
from pytest_llmeval.traffic.scrub import Scrubber

if TYPE_CHECKING:
    import httpx2

    from pytest_llmeval.traffic.cache import CachedResponse

_SERIALIZER = "llmeval"
_JSON_BODY = "llmeval_json_body"
_BETA = "llmeval_anthropic_beta"
#: Of the headers only ``anthropic-beta``: ``x-stainless-*`` and the user agent vary by machine.
MATCH_ON = ("method", "path", "query", _JSON_BODY, _BETA)


class CassetteNotSaved(Exception):
    """The file system refused the cassette (read-only, full, gone): said in one sentence,
    since the traceback through vcrpy's save and ``pathlib`` tells a reader nothing more."""


class _NotSaved(Exception):
    """Handed to vcrpy's ``__exit__`` (with ``record_on_exception=False``): keep the old file."""


def _vcr_request(request: httpx2.Request) -> Any:
    from vcr.request import Request as VcrRequest

    return VcrRequest(request.method, str(request.url), request.content, request.headers)


class RecordingCassette:
    """One test's vcrpy cassette in record mode ``new_episodes`` (record) or ``all`` (rewrite)."""

    def __init__(
        self,
        *,
        path: Path,
        record_mode: str,
        nodeid: str,
        scrubber: Scrubber,
        hooks: RecordingHooks,
        on_save: SaveHook | None,
    ) -> None:
        self.path = path
        self.record_mode = record_mode
        self.hooks = hooks
        self.format = CassetteFormat(nodeid=nodeid, scrubber=scrubber, on_save=on_save)
        #: vcrpy's cassette while open: its patch of httpx2 answers from it.
        self.cassette: Any = None
        self._ctx: Any = None

    def open(self) -> None:
        """Load the file (may raise ``BrokenCassette``) and let vcrpy patch httpx2."""
        import vcr
        from vcr.patch import PATCHER_NAMES

        rewrite = self.record_mode == "all"
        recorder = vcr.VCR(
            record_mode=self.record_mode,
            match_on=MATCH_ON,
            before_record_request=self.hooks.vcr_request,
            before_record_response=self.hooks.before_record_response,
            # Only the SDK's HTTP library: other traffic of the test is none of our business.
            skip_patchers=[name for name in PATCHER_NAMES if name != "httpx2"],
            drop_unused_requests=rewrite,
            # stop() decides whether the recording is saved: vcrpy's public switch for it.
            record_on_exception=False,
        )
        recorder.register_serializer(_SERIALIZER, self.format)
        recorder.register_matcher(_JSON_BODY, json_body)
        recorder.register_matcher(_BETA, same_beta)
        recorder.register_persister(AtomicPersister(ignore_existing=rewrite))
        ctx = recorder.use_cassette(str(self.path), serializer=_SERIALIZER)
        self.cassette = ctx.__enter__()
        self._ctx = ctx

    def can_play(self, request: httpx2.Request) -> bool:
        """Whether vcrpy will answer this request from the file rather than the network."""
        return bool(self.cassette.can_play_response_for(_vcr_request(request)))

    @staticmethod
    def played(response: httpx2.Response) -> dict[str, Any] | None:
        """The role and duration of the recording vcrpy answered with; ``None`` if it did not."""
        return recorded_meta(response.headers)

    def add_from_cache(self, request: httpx2.Request, hit: CachedResponse, role: str) -> None:
        """A recording answered by the cache is still written, with the original duration."""
        meta = {
            "role": role,
            "duration_s": round(hit.duration_s, 4),
            "recorded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "from_cache": True,
        }
        if hit.ttft_s is not None:
            meta["ttft_s"] = round(hit.ttft_s, 4)
        response: dict[str, Any] = {
            "status": {"code": hit.status, "message": ""},
            "headers": {name: [value] for name, value in hit.headers.items()},
            "body": {"string": hit.body},
            "llmeval": meta,
        }
        mark_recorded(response, meta)
        self.cassette.append(_vcr_request(request), response)

    def add_from_network(
        self,
        request: httpx2.Request,
        response: httpx2.Response,
        raw_body: bytes,
        measured: dict[str, Any],
    ) -> None:
        """An answer the network gave, its body read to the end: recorded as vcrpy's stub would
        (status, headers, the body as it came), with the ``measured`` role, duration and time
        to first token; ``before_record_response`` still decides whether it is kept."""
        headers: dict[str, list[str]] = {}
        for name, value in response.headers.multi_items():
            headers.setdefault(name, []).append(value)
        recorded: dict[str, Any] = {
            "status": {"code": response.status_code, "message": response.reason_phrase},
            "headers": headers,
            "body": {"string": raw_body},
            MEASURED: measured,
        }
        self.cassette.append(_vcr_request(request), recorded)

    def add_decoded(
        self,
        request: httpx2.Request,
        response: httpx2.Response,
        body: bytes,
        measured: dict[str, Any],
        part: bool,
    ) -> None:
        """An answer the app closed early: ``body`` is what it read, decoded
        (``closed_early.part_read``); marked ``closed_early`` when it is a ``part``."""
        left_out = ("content-encoding", "content-length", "transfer-encoding")
        headers: dict[str, list[str]] = {}
        for name, value in response.headers.multi_items():
            if name.lower() not in left_out:
                headers.setdefault(name, []).append(value)
        recorded: dict[str, Any] = {
            "status": {"code": response.status_code, "message": response.reason_phrase},
            "headers": headers,
            "body": {"string": body},
            MEASURED: {**measured, CLOSED_EARLY: True} if part else measured,
        }
        self.cassette.append(_vcr_request(request), recorded)

    def close(self, why_not: str | None, *, stable_order: bool) -> str | None:
        """Save unless ``why_not`` says why the recording must not be kept; then unpatch.

        Returns, for the terminal, what was kept instead of a save that did not happen.
        """
        ctx, self._ctx = self._ctx, None
        if ctx is None:
            return None
        self.format.stable_order = stable_order
        if why_not is None or not self.cassette.dirty:
            try:
                ctx.__exit__(None, None, None)
            except BaseException as exc:
                # vcrpy saves before it unpatches: a failed save (a raising scrub hook, a full
                # disk) would leave its patch answering every later test from this cassette.
                # Exiting again with the error skips the save and only unpatches.
                ctx.__exit__(type(exc), exc, exc.__traceback__)
                if isinstance(exc, OSError):
                    raise CassetteNotSaved(self._unsaved(exc)) from exc
                raise
            return None
        ctx.__exit__(_NotSaved, _NotSaved(why_not), None)
        return self._kept(why_not)

    def _unsaved(self, exc: OSError) -> str:
        reason = exc.strerror or str(exc)
        where = display_path(Path(exc.filename)) if exc.filename else display_path(self.path)
        return (
            f"llmeval: this test's recording could not be written ({reason}: {where}); "
            f"{self._state()}. Make {display_path(self.path.parent)} writable (or free space) "
            "and record again."
        )

    def _kept(self, why_not: str) -> str:
        return f"{self._state()}: {why_not}"

    def _state(self) -> str:
        where = display_path(self.path)
        if self.path.is_file():
            return f"kept {where} unchanged"
        return f"no cassette written to {where}"
