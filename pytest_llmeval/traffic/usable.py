"""Which answers are worth keeping: only a complete, successful one is recorded or cached.

A kept failure is replayed forever: a 401 from a key since fixed, an overload that arrived as
an ``event: error`` inside a 200 stream, a stream cut before ``message_stop``. Each of those
must be asked again next time, so none reaches a cassette or the cache.

What a kept answer holds is checked the same way wherever it is read back (a cassette, a cache
entry: files anyone can write): headers an HTTP answer can carry, and times that are times.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

from pytest_llmeval.data_files import text_lines


@dataclass(frozen=True)
class Unusable:
    """Why an answer is not kept, in the words a failure report uses."""

    status: int
    error_type: str
    detail: str
    request_id: str

    def describe(self, method: str, path: str) -> str:
        """``POST /v1/messages: 529 overloaded_error (request-id req_1): Overloaded``"""
        rid = f" (request-id {self.request_id})" if self.request_id else ""
        detail = f": {self.detail}" if self.detail else ""
        return f"{method} {path}: {self.status} {self.error_type}{rid}{detail}"


#: A header name as HTTP allows one (a "token").
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def header_name_ok(name: str) -> bool:
    """Whether an answer can carry a header of this name."""
    return _TOKEN.fullmatch(name) is not None


def header_value_ok(value: str) -> bool:
    """Printable ASCII: what an answer can be built from (the HTTP client encodes as ASCII; a
    line break or a control character in a header is never from a recording)."""
    return value.isascii() and value.isprintable()


def recorded_time_ok(value: object) -> bool:
    """Whether a recorded time is one: a number (not a bool), finite (an int too large for a
    float is not) and >= 0. A NaN passes every budget, a negative time any."""
    if type(value) not in (int, float):
        return False
    try:
        return math.isfinite(value) and value >= 0  # type: ignore[arg-type,operator]
    except OverflowError:
        return False


def _error_of(data: object) -> tuple[str, str]:
    """(type, message) of an API error body ``{"type": "error", "error": {...}}``."""
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        error = data["error"]
        return str(error.get("type") or "error"), str(error.get("message") or "")[:300]
    return "error", ""


_CUT_IN_STOP = "the stream ended inside message_stop"


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def _sse_problem(text: str) -> tuple[str, str] | None:
    """An ``error`` event, or a stream that never reached ``message_stop``."""
    event = ""
    for line in text_lines(text):
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:") and event == "message_stop":
            # Its data whole, not only its name: a stream cut inside its last event is cut.
            return None if _is_json(line[5:]) else ("incomplete_stream", _CUT_IN_STOP)
        elif line.startswith("data:") and event == "error":
            try:
                data = json.loads(line[5:])
            except (ValueError, RecursionError):
                data = None
            kind, message = _error_of(data)
            return kind, f"error event in the stream: {message}".rstrip(": ")
    return "incomplete_stream", "the stream ended before message_stop"


def _is_binary(content_type: str) -> bool:
    """A file's content type: not the API's JSON or event stream, nor text."""
    media = content_type.split(";")[0].strip().lower()
    return (
        bool(media)
        and "json" not in media
        and media not in ("text/event-stream",)
        and not (media.startswith("text/"))
    )


def unusable(
    status: int,
    content_type: str,
    body: bytes,
    request_id: str = "",
    *,
    is_json: bool = False,
    data: object = None,
) -> Unusable | None:
    """``None`` for an answer to keep; otherwise what is wrong with it.

    ``body`` is the decoded (not gzip) body; ``is_json`` when the caller has parsed it as JSON,
    ``data`` what it parsed.
    """
    if not 200 <= status < 300:
        try:
            kind, message = _error_of(json.loads(body))
        except (ValueError, RecursionError):
            kind, message = "error", ""
        return Unusable(status, kind, message, request_id)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        if _is_binary(content_type):
            return None  # a file's content (``files.download``): kept as the bytes it is
        return Unusable(status, "undecodable_body", f"the body is not UTF-8 ({exc})", request_id)
    if "text/event-stream" in content_type:
        problem = _sse_problem(text)
        return None if problem is None else Unusable(status, *problem, request_id)
    if "json" in content_type and not is_json:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            return Unusable(status, "undecodable_body", f"the body is not JSON ({exc})", request_id)
    # The API answers a success with an object, never with an error body: a cassette or cache
    # entry saying otherwise would fail the test with the SDK's TypeError, not with this.
    if isinstance(data, dict) and data.get("type") == "error":
        kind, message = _error_of(data)
        return Unusable(status, kind, f"an error body in a {status} answer: {message}", request_id)
    if data is not None and not isinstance(data, dict):
        return Unusable(status, "unexpected_body", "the JSON body is not an object", request_id)
    return None


#: An ``error`` event line, as ``usable`` reads one (``event:`` then the name, spaces around).
_ERROR_EVENT = re.compile(r"^event:[ \t]*error[ \t]*\r?$", re.MULTILINE)


def cached_answer_problem(status: int, content_type: str, body: str) -> str | None:
    """Why an entry's answer is one ``usable`` would never have let into the cache (an error
    body or event in a 2xx, a stream cut short, a body that is not one JSON object); ``None``
    for one it could have stored.

    Hits are many and rarely foreign: an answer as the API gives it is passed on a few C-speed
    substring tests, without parsing it again. Only one that fails them (a body holding the
    token ``"error"`` or a ``\\u`` escape that could spell it, not one brace-delimited text, a
    stream without its closing ``message_stop`` or with an ``error`` event) is checked by
    ``usable.unusable`` in full, as a recorded answer is."""
    # Single characters are found at memchr speed, words at about 0.7 ns a character: about
    # 3 us for a 4 kB message, against about 1.3 ms for the whole hit (benchmarks 4).
    if "text/event-stream" in content_type:
        end = body[-300:]
        if (
            '"message_stop"' in end
            and end.rstrip().endswith("}")
            and ("error" not in body or _ERROR_EVENT.search(body) is None)
        ):
            return None
    elif "json" in content_type:
        # Escapes can spell "error" (\u0065rror): a body with a \u00 escape is parsed.
        if (
            body[:1] == "{"
            and body[-1:] == "}"
            and '"error"' not in body
            and ("\\" not in body or "\\u00" not in body)
        ):
            return None
    else:
        return None  # not an answer the SDK parses as JSON or events
    found = unusable(status, content_type, body.encode("utf-8"))
    if found is None and "error" in body and _ERROR_EVENT.search(body) is not None:
        return "an error event after message_stop"
    return None if found is None else f"{found.error_type}: {found.detail}"
