"""What vcrpy is told to do with each request and answer: the one scrubbed view of a request
(matched, keyed, shown and written), and which answers are recorded, with what metadata."""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from pytest_llmeval.traffic.calls import ROLE
from pytest_llmeval.traffic.scrub import RequestHook, Scrubber
from pytest_llmeval.traffic.usable import unusable
from pytest_llmeval.traffic.wire import is_model_request

if TYPE_CHECKING:
    import httpx2

#: When the call in flight started: its recorded duration is measured from here.
CALL_START: ContextVar[float] = ContextVar("llmeval_call_start", default=0.0)


class RecordingHooks:
    """``before_record_request`` / ``before_record_response`` for one test's cassette."""

    def __init__(self, scrubber: Scrubber, request_hook: RequestHook | None) -> None:
        self.scrubber = scrubber
        #: The user's scrub hook for a request alone (``pytest_llmeval_scrub_interaction``).
        self.request_hook = request_hook
        # The cache lookup, the cache store and a miss report each need the view of the same
        # live request: scrub it (and run the user's hook) once per request, not per use.
        self._views: WeakKeyDictionary[httpx2.Request, dict[str, Any]] = WeakKeyDictionary()

    def view(
        self, method: str, uri: str, headers: Mapping[str, Any], body: bytes
    ) -> dict[str, Any]:
        """The one scrubbed form of a request: what is matched, keyed, shown and written."""
        request: dict[str, Any] = {
            "method": method,
            "uri": uri,
            "headers": dict(headers),
            "body": body.decode("utf-8", errors="replace"),
        }
        self.scrubber.scrub_request(request, self.request_hook)
        return request

    def vcr_request(self, request: Any) -> Any:
        """vcrpy applies this to a live request before matching it and before writing it."""
        if not is_model_request(request.headers):
            return None  # only the SDK's calls: other traffic of the test is none of ours
        done = getattr(request, "_llmeval_scrubbed", None)
        if done is not None:
            return done  # vcrpy asks several times per request; and a scrubbed one is final
        from vcr.request import Request as VcrRequest

        raw = request.body
        body = raw if isinstance(raw, bytes) else str(raw or "").encode("utf-8")
        view = self.view(request.method, request.uri, request.headers, body)
        scrubbed = VcrRequest(
            view["method"], view["uri"], view["body"].encode("utf-8"), view["headers"]
        )
        scrubbed._llmeval_scrubbed = scrubbed
        request._llmeval_scrubbed = scrubbed
        return scrubbed

    def live_view(self, request: httpx2.Request) -> dict[str, Any]:
        """The view of a live request; a copy each time, so a caller may edit it."""
        view = self._views.get(request)
        if view is None:
            view = self.view(request.method, str(request.url), request.headers, request.content)
            self._views[request] = view
        return {**view, "headers": dict(view["headers"])}

    def before_record_response(self, response: dict[str, Any]) -> dict[str, Any] | None:
        """vcrpy applies this to an answer before recording it: only usable ones, scrubbed,
        with the metadata replay reports (role, the call's duration, when)."""
        if "llmeval" in response:  # loaded from the cassette, already in its final form
            return response
        from vcr.filters import decode_response

        response = decode_response(response)
        headers = {k.lower(): v for k, v in response["headers"].items()}
        content_type = (headers.get("content-type") or [""])[0]
        body = response["body"]["string"]
        if unusable(response["status"]["code"], content_type, body) is not None:
            return None  # never kept: see traffic/usable.py
        text = body.decode("utf-8")
        response["body"]["string"] = self.scrubber.scrub_body(text, content_type).encode("utf-8")
        response["llmeval"] = {
            "role": ROLE.get(),
            "duration_s": round(time.perf_counter() - CALL_START.get(), 4),
            "recorded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        return response
