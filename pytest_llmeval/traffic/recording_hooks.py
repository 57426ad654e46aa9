"""What vcrpy is told to do with each request and answer: the one scrubbed view of a request
(matched, keyed, shown and written), and which answers are recorded, with what metadata."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any

from pytest_llmeval.traffic.calls import ROLE
from pytest_llmeval.traffic.closed_early import CLOSED_EARLY
from pytest_llmeval.traffic.scrub import RequestHook, Scrubber
from pytest_llmeval.traffic.usable import unusable
from pytest_llmeval.traffic.wire import is_model_request

#: When the call in flight started: its recorded duration is measured from here.
CALL_START: ContextVar[float] = ContextVar("llmeval_call_start", default=0.0)
#: On a response handed to ``Cassette.append`` by the recorder: the call's duration and time
#: to first token, measured when its body ended (taken off before the response is kept).
MEASURED = "llmeval_measured"

#: Put on every answer vcrpy holds (loaded from the file or recorded in this test) and taken
#: off before the SDK sees it: says that vcrpy played the answer rather than the network, and
#: with what role and original duration. vcrpy builds the played response from the status,
#: headers and body alone and has no public way to tell which recording it played.
RECORDED_HEADER = "x-llmeval-recorded"


def mark_recorded(response: dict[str, Any], meta: Mapping[str, Any]) -> None:
    """Tag a response in vcrpy's form (headers as lists) with its role and duration."""
    tag = {"role": meta.get("role", "app"), "duration_s": meta.get("duration_s", 0.0)}
    if meta.get("ttft_s") is not None:
        tag["ttft_s"] = meta["ttft_s"]
    if meta.get(CLOSED_EARLY) is True:
        tag[CLOSED_EARLY] = True
    response["headers"] = {**response["headers"], RECORDED_HEADER: [json.dumps(tag)]}


def recorded_meta(headers: Any) -> dict[str, Any] | None:
    """The tag of a played answer, removed from its headers; ``None`` for a live answer."""
    value = headers.get(RECORDED_HEADER)
    if value is None:
        return None
    del headers[RECORDED_HEADER]
    meta: dict[str, Any] = json.loads(value)
    return meta


#: What a multipart body's boundary reads as in a request's view.
FIXED_BOUNDARY = "llmeval-multipart-boundary"


def fix_multipart_boundary(request: dict[str, Any]) -> None:
    """A file upload's multipart boundary is random per request: in the view it is one fixed
    string (in the body and in ``content-type``), or the upload never matches its recording."""
    for name, value in request["headers"].items():
        if name.lower() != "content-type":
            continue
        text = value[0] if isinstance(value, list) and value else value
        if not isinstance(text, str) or not text.lower().startswith("multipart/"):
            return
        head, found, boundary = text.partition("boundary=")
        boundary = boundary.split(";")[0].strip().strip('"')
        if not found or not boundary:
            return
        fixed = f"{head}boundary={FIXED_BOUNDARY}"
        request["headers"][name] = [fixed] if isinstance(value, list) else fixed
        request["body"] = request["body"].replace(f"--{boundary}", f"--{FIXED_BOUNDARY}")
        return


class RecordingHooks:
    """``before_record_request`` / ``before_record_response`` for one test's cassette."""

    def __init__(
        self,
        scrubber: Scrubber,
        request_hook: RequestHook | None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.scrubber = scrubber
        #: What a recorded call's duration is measured on (see ``accounting``).
        self.clock = clock
        #: The user's scrub hook for a request alone (``pytest_llmeval_scrub_interaction``).
        self.request_hook = request_hook
        #: Lower-case names of the request headers a view is made of (see ``live``).
        self.wanted_headers = frozenset(
            name.encode("utf-8") for name in scrubber.read_request_headers
        )
        # vcrpy hands ``vcr_request`` a fresh deep copy of a request each time it asks
        # (matching, playing, recording): scrubbed once per distinct request all the same.
        self._scrubbed: dict[tuple[Any, ...], Any] = {}

    def view(
        self, method: str, uri: str, headers: Mapping[str, Any], body: bytes
    ) -> dict[str, Any]:
        """The one scrubbed form of a request: what is matched, keyed, shown and written."""
        request: dict[str, Any] = {
            "method": method,
            "uri": uri,
            "headers": dict(headers),
            # A file's bytes that are not UTF-8 (a PDF, an image uploaded to the Files API) as
            # escapes (``\\xe2``): with "replace" every such byte read as one U+FFFD, so two
            # different files matched one recording and one cache entry.
            "body": body.decode("utf-8", errors="backslashreplace"),
        }
        fix_multipart_boundary(request)
        self.scrubber.scrub_request(request, self.request_hook)
        return request

    def vcr_request(self, request: Any) -> Any:
        """vcrpy applies this to a live request before matching it and before writing it."""
        if not is_model_request(request.headers):
            return None  # only the SDK's calls: other traffic of the test is none of ours
        done = getattr(request, "_llmeval_scrubbed", None)
        if done is not None:
            return done  # a scrubbed request is final
        raw = request.body
        body = raw if isinstance(raw, bytes) else str(raw or "").encode("utf-8")
        key = (request.method, request.uri, body, tuple(request.headers.items()))
        scrubbed = self._scrubbed.get(key)
        if scrubbed is None:
            from vcr.request import Request as VcrRequest

            view = self.view(request.method, request.uri, request.headers, body)
            scrubbed = VcrRequest(
                view["method"], view["uri"], view["body"].encode("utf-8"), view["headers"]
            )
            scrubbed._llmeval_scrubbed = scrubbed
            self._scrubbed[key] = scrubbed
        return scrubbed

    def before_record_response(self, response: dict[str, Any]) -> dict[str, Any] | None:
        """vcrpy applies this to an answer before recording it: only usable ones, scrubbed,
        with the metadata replay reports (role, the call's duration, when)."""
        if "llmeval" in response:  # loaded from the cassette, already in its final form
            return response
        measured = response.pop(MEASURED, None) or {}
        from vcr.filters import decode_response

        response = decode_response(response)
        headers = {k.lower(): v for k, v in response["headers"].items()}
        self.scrubber.learn_from_response_headers(headers)
        content_type = (headers.get("content-type") or [""])[0]
        body = response["body"]["string"]
        # A part the app closed early is what it read (closed_early.py), not a broken answer.
        part = measured.get(CLOSED_EARLY) is True
        if not part and unusable(response["status"]["code"], content_type, body) is not None:
            return None  # never kept: see traffic/usable.py
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = None  # a file's bytes (see ``usable``): written as they are, as !!binary
        if text is not None:
            scrubbed = self.scrubber.scrub_body(text, content_type)
            response["body"]["string"] = scrubbed.encode("utf-8")
        duration = measured.get("duration_s", self.clock() - CALL_START.get())
        response["llmeval"] = {
            "role": measured.get("role", ROLE.get()),
            "duration_s": round(duration, 4),
            "recorded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        if measured.get("ttft_s") is not None:
            response["llmeval"]["ttft_s"] = round(measured["ttft_s"], 4)
        if part:
            response["llmeval"][CLOSED_EARLY] = True
        # What vcrpy saves is also what it plays if the test asks the same again.
        mark_recorded(response, response["llmeval"])
        return response
