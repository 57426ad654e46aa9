"""The vcrpy adapter: how cassettes read in a pull request, how requests match.

A cassette is YAML that a reviewer can read: bodies are pretty-printed JSON or SSE text in
literal blocks (never base64), each interaction carries ``llmeval`` metadata (role, the
original call's duration, when it was recorded, digests of both bodies), and nothing secret
is written. Paths are in ``cassette_names``, the written form and its checks in ``cassette_form``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_llmeval.traffic.cassette_form import (
    FORMAT_VERSION,
    CassetteProblem,
    Interaction,
    dump,
    load,
    readable_body,
    vcr_form,
)
from pytest_llmeval.traffic.cassette_names import (
    CASSETTE_DIR,
    cassette_path,
    display_path,
    item_cassette,
    item_cassette_path,
)
from pytest_llmeval.traffic.recording_hooks import RECORDED_HEADER, mark_recorded
from pytest_llmeval.traffic.scrub import Scrubber
from pytest_llmeval.traffic.wire import beta_of, canonical_json

__all__ = [
    "CASSETTE_DIR",
    "AtomicPersister",
    "BrokenCassette",
    "CassetteFormat",
    "SaveHook",
    "cassette_path",
    "cassette_text",
    "display_path",
    "item_cassette",
    "item_cassette_path",
    "json_body",
    "outside_problem",
    "read_cassette",
]

#: Called with each interaction in its written form, last chance to remove what must not be kept.
SaveHook = Callable[[list[Interaction]], None]


class BrokenCassette(Exception):
    """A cassette file that exists but cannot be used: not YAML, the wrong shape, a body that
    does not match its digest, or another tool's format."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def _flat_headers(headers: dict[str, Any]) -> dict[str, Any]:
    """One value reads as a string, several as a list."""
    flat: dict[str, Any] = {}
    for name, values in headers.items():
        listed = values if isinstance(values, list) else [values]
        flat[name] = listed[0] if len(listed) == 1 else listed
    return flat


def _request_order(interaction: Interaction) -> tuple[str, str, bytes]:
    """Sort key: method, URI, body with JSON keys sorted. Identical requests keep their order
    (the sort is stable), which is the order vcrpy plays them back in."""
    request = interaction["request"]
    body = request.get("body") or ""
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    return str(request["method"]), str(request["uri"]), canonical_json(raw)


class CassetteFormat:
    """A vcrpy serializer that writes the reviewable form and reads it back."""

    def __init__(
        self,
        *,
        nodeid: str,
        scrubber: Scrubber,
        on_save: SaveHook | None = None,
    ) -> None:
        self.nodeid = nodeid
        self.scrubber = scrubber
        self.on_save = on_save
        #: Set when the test's calls overlapped (threads, ``asyncio.gather``): they finished in
        #: an order that changes from run to run, so they are written sorted by request, and a
        #: re-recording's diff shows only what changed. Replay matches by request, not order.
        self.stable_order = False

    def serialize(self, cassette: dict[str, Any]) -> str:
        interactions = [self._readable(i) for i in cassette["interactions"]]
        if self.stable_order:
            interactions.sort(key=_request_order)
        if self.on_save is not None:
            self.on_save(interactions)
        # Scrubbed field by field, before the digests: a digest describes the final text.
        return dump(self.nodeid, interactions, self.scrubber.scrub_text)

    def _readable(self, interaction: Interaction) -> Interaction:
        request, response = interaction["request"], dict(interaction["response"])
        meta = response.pop("llmeval", None)
        body = response.get("body", {})
        headers = {k: v for k, v in response["headers"].items() if k != RECORDED_HEADER}
        out: Interaction = {
            "request": {
                "method": request["method"],
                "uri": request["uri"],
                "headers": _flat_headers(self.scrubber.request_headers(request["headers"])),
                "body": readable_body(request.get("body")),
            },
            "response": {
                "status": response["status"],
                "headers": _flat_headers(self.scrubber.response_headers(headers)),
                "body": _response_body(
                    body.get("string") if isinstance(body, dict) else body, headers
                ),
            },
        }
        if meta:
            out["llmeval"] = meta
        return out

    def deserialize(self, text: str) -> dict[str, Any]:
        interactions = vcr_form(load(text))
        for interaction in interactions:
            response = interaction["response"]
            mark_recorded(response, response["llmeval"])
        return {"version": FORMAT_VERSION, "interactions": interactions}


class AtomicPersister:
    """Loads with a clear error; saves to a temporary file then renames (no half cassettes)."""

    def __init__(self, *, ignore_existing: bool = False) -> None:
        #: rewrite mode: whatever is on disk, even a broken file, is replaced, not read.
        self.ignore_existing = ignore_existing

    def load_cassette(self, cassette_path: str | Path, serializer: CassetteFormat) -> Any:
        from vcr.persisters.filesystem import CassetteNotFoundError
        from vcr.serialize import deserialize

        path = Path(cassette_path)
        text = None if self.ignore_existing else cassette_text(path)
        if text is None:
            raise CassetteNotFoundError()
        try:
            return deserialize(text, serializer)
        except (CassetteProblem, ValueError) as exc:
            raise BrokenCassette(path, str(exc)) from None

    def save_cassette(
        self, cassette_path: str | Path, cassette_dict: dict[str, Any], serializer: CassetteFormat
    ) -> None:
        from vcr.serialize import serialize

        from pytest_llmeval.files import write_atomic

        path = Path(cassette_path)
        # The write replaces a link to a file (a link out was refused on reading).
        problem = outside_problem(path, writing=True) or (
            None if path.is_symlink() else not_a_file_problem(path)
        )
        if problem is not None:
            raise BrokenCassette(path, problem)
        write_atomic(path, serialize(cassette_dict, serializer))


# --- matching: method, path, query, the JSON body and anthropic-beta; no other header ---------


def canonical_body(request: Any) -> bytes:
    """The body with JSON keys sorted, memoised on the vcrpy request (matching runs often)."""
    cached: bytes | None = getattr(request, "_llmeval_canonical", None)
    if cached is not None:
        return cached
    raw = request.body
    canonical = canonical_json(raw if isinstance(raw, bytes) else (raw or "").encode("utf-8"))
    request._llmeval_canonical = canonical
    return canonical


def json_body(r1: Any, r2: Any) -> None:
    """vcrpy matcher: equal bodies once JSON key order is ignored."""
    if canonical_body(r1) != canonical_body(r2):
        raise AssertionError("request bodies differ")


def same_beta(r1: Any, r2: Any) -> None:
    """vcrpy matcher: the same ``anthropic-beta`` header (a beta changes what the API does)."""
    if beta_of(r1.headers) != beta_of(r2.headers):
        raise AssertionError("anthropic-beta differs")


def outside_problem(path: Path, *, writing: bool = False) -> str | None:
    """Why a cassette path must not be used: it leads (through a symbolic link to the file or
    to a directory on its way) outside the test directory it belongs to. A pull request can
    commit a link: the run would read, or write a recording into, any file it points at.

    ``writing``: only the directories count, as the atomic write replaces a link to a file."""
    absolute = os.path.join(os.getcwd(), path)  # not normalised: ``..`` after a link is real
    module_dir = os.path.dirname(absolute)
    if os.path.basename(os.path.dirname(module_dir)) != CASSETTE_DIR:
        return None  # not in the ``<test dir>/cassettes/<module>/`` layout: a path a user named
    checked = module_dir if writing else absolute
    cassettes_dir = os.path.dirname(module_dir)
    # Asked for every cassette a run reads: three ``lstat`` calls when no link is on the way
    # from the test directory (``realpath`` of the whole path took a fifth of loading one).
    parts = (cassettes_dir, module_dir) if writing else (cassettes_dir, module_dir, absolute)
    if not any(os.path.islink(part) for part in parts):
        return None
    real = os.path.realpath(checked)
    home = os.path.realpath(os.path.dirname(cassettes_dir))
    if real.startswith(home + os.sep):
        return None
    shown = os.path.join(real, os.path.basename(absolute)) if writing else real
    return (
        f"a symbolic link leads it out of its test directory (to {shown}): cassettes are only "
        "read and written inside the project; replace the link with the cassette file"
    )


def not_a_file_problem(path: Path) -> str | None:
    """Why there is something at ``path`` that is not a cassette file (a directory, a FIFO,
    a link to nothing): it would read as "no recording", and recording could not replace it."""
    if not os.path.lexists(path) or path.is_file():
        return None
    kind = "a directory" if path.is_dir() else "a link to nothing" if path.is_symlink() else None
    return f"is {kind or 'not a regular file'}, not a cassette file"


def cassette_text(path: Path, *, is_file: bool | None = None) -> str | None:
    """The file's text; ``None`` when there is no cassette (no file, or an empty one).

    ``is_file``: whether ``path`` is a file, when the caller has just asked."""
    if not (path.is_file() if is_file is None else is_file):
        other = not_a_file_problem(path)
        if other is not None:
            raise BrokenCassette(path, other)
        return None
    outside = outside_problem(path)
    if outside is not None:
        raise BrokenCassette(path, outside)
    try:
        # ``read_text`` without its text layer (a replayed test reads one file): the same
        # text, line ends translated as universal newlines mode does.
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BrokenCassette(path, f"cannot be read ({exc})") from None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text if text.strip() else None


def read_cassette(path: Path) -> list[Interaction]:
    """A cassette's interactions in their written form; ``BrokenCassette`` if unusable."""
    outside = outside_problem(path)
    if outside is not None:
        raise BrokenCassette(path, outside)
    try:
        return load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise BrokenCassette(path, f"cannot be read ({exc})") from None
    except CassetteProblem as exc:
        raise BrokenCassette(path, str(exc)) from None


def _response_body(body: Any, headers: dict[str, Any]) -> str | bytes:
    """A JSON answer indented for review; any other exactly as it came. A batch's results are
    JSON Lines (``application/binary``): one line of them parses as JSON, and indented it
    would no longer be one line a result."""
    content_type = next(
        (
            str(v[0] if isinstance(v, list) and v else v)
            for k, v in headers.items()
            if k.lower() == "content-type"
        ),
        "",
    )
    media = content_type.split(";")[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return readable_body(body)
    if isinstance(body, bytes):
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            return body  # YAML writes it as !!binary
    return "" if body is None else str(body)
