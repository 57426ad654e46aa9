"""The vcrpy adapter: where cassettes live, how they read in a pull request, how requests match.

A cassette is YAML that a reviewer can read: bodies are pretty-printed JSON or SSE text in
literal blocks (never base64), each interaction carries ``llmeval`` metadata (role, the
original call's duration, when it was recorded), and nothing secret is written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from hashlib import sha1
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_llmeval.traffic.scrub import Scrubber

FORMAT_VERSION = 1
CASSETTE_DIR = "cassettes"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\[\]=,+@-]")
_MAX_NAME = 150

Interaction = dict[str, Any]
#: Called with each interaction in its written form, last chance to remove what must not be kept.
SaveHook = Callable[[list[Interaction]], None]


class BrokenCassette(Exception):
    """A cassette file that exists but cannot be read: not YAML, or not a cassette's shape."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def cassette_path(test_path: Path, module_name: str, test_name: str) -> Path:
    """``<test dir>/cassettes/<module>/<test name>.yaml``; odd characters become ``_``."""
    name = _UNSAFE.sub("_", test_name)
    if len(name) > _MAX_NAME:
        digest = sha1(test_name.encode("utf-8")).hexdigest()[:10]
        name = f"{name[:_MAX_NAME]}-{digest}"
    return test_path.parent / CASSETTE_DIR / module_name / f"{name}.yaml"


def display_path(path: Path) -> str:
    """Relative to where pytest runs when it can be: what a user would type."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def item_cassette_path(item: pytest.Item) -> Path:
    """The cassette of a collected test: ``Class.test[param]`` names as pytest-recording does."""
    parts = item.nodeid.split("::")[1:]
    return cassette_path(item.path, item.path.stem, ".".join(parts) or item.name)


# --- the readable YAML form -------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    pass


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)

# libyaml's loader is several times faster than the pure-Python one.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _pretty_body(body: Any) -> Any:
    """JSON as indented text, other UTF-8 as text; binary stays bytes (YAML writes it base64)."""
    if body is None or body == b"" or body == "":
        return ""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    if not isinstance(text, str):
        return body
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            return json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"
        except ValueError:
            pass
    return text


def _flat_headers(headers: dict[str, Any]) -> dict[str, Any]:
    """One value reads as a string, several as a list."""
    flat: dict[str, Any] = {}
    for name, values in headers.items():
        listed = values if isinstance(values, list) else [values]
        flat[name] = listed[0] if len(listed) == 1 else listed
    return flat


def _listed_headers(headers: Any) -> dict[str, list[str]]:
    if not isinstance(headers, dict):
        raise ValueError("headers must be a mapping")
    return {
        str(name): [str(v) for v in values] if isinstance(values, list) else [str(values)]
        for name, values in headers.items()
    }


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

    def serialize(self, cassette: dict[str, Any]) -> str:
        interactions = [self._readable(i) for i in cassette["interactions"]]
        if self.on_save is not None:
            self.on_save(interactions)
        header = (
            f"# Model API calls of {self.nodeid}, recorded by pytest-llmeval.\n"
            f"# Re-record: pytest --llmeval-mode=rewrite '{self.nodeid}'\n"
        )
        text = yaml.dump(
            {"version": FORMAT_VERSION, "interactions": interactions},
            Dumper=_Dumper,
            sort_keys=False,
            allow_unicode=True,
            width=1_000_000,
        )
        return header + self.scrubber.scrub_text(text)

    def _readable(self, interaction: Interaction) -> Interaction:
        request, response = interaction["request"], dict(interaction["response"])
        meta = response.pop("llmeval", None)
        body = response.get("body", {})
        out: Interaction = {
            "request": {
                "method": request["method"],
                "uri": request["uri"],
                "headers": _flat_headers(self.scrubber.request_headers(request["headers"])),
                "body": _pretty_body(request.get("body")),
            },
            "response": {
                "status": response["status"],
                "headers": _flat_headers(self.scrubber.response_headers(response["headers"])),
                "body": _pretty_body(body.get("string") if isinstance(body, dict) else body),
            },
        }
        if meta:
            out["llmeval"] = meta
        return out

    def deserialize(self, text: str) -> dict[str, Any]:
        return {"version": FORMAT_VERSION, "interactions": _vcr_form(_interactions(text))}


def _interactions(text: str) -> list[Any]:
    """The written interactions of a cassette's text; ``ValueError`` saying what is wrong."""
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise ValueError(f"not valid YAML ({' '.join(str(exc).split())[:200]})") from None
    if not isinstance(data, dict) or not isinstance(data.get("interactions"), list):
        raise ValueError("not a cassette: expected a mapping with an 'interactions' list")
    interactions: list[Any] = data["interactions"]
    return interactions


def _vcr_form(interactions: Iterable[Any]) -> list[Interaction]:
    out: list[Interaction] = []
    for number, interaction in enumerate(interactions, start=1):
        try:
            request = interaction["request"]
            response = interaction["response"]
            status = response["status"]
            if not isinstance(status, dict) or not isinstance(status.get("code"), int):
                raise ValueError("response.status must have an integer 'code'")
            vcr_response: dict[str, Any] = {
                "status": status,
                "headers": _listed_headers(response.get("headers", {})),
                "body": {"string": response.get("body") or ""},
            }
            meta = interaction.get("llmeval")
            vcr_response["llmeval"] = dict(meta) if isinstance(meta, dict) else {}
            out.append(
                {
                    "request": {
                        "method": str(request["method"]),
                        "uri": str(request["uri"]),
                        "body": request.get("body") or "",
                        "headers": _listed_headers(request.get("headers", {})),
                    },
                    "response": vcr_response,
                }
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"interaction #{number} is malformed: {exc}") from None
    return out


class AtomicPersister:
    """Loads with a clear error; saves to a temporary file then renames (no half cassettes)."""

    def __init__(self, *, ignore_existing: bool = False) -> None:
        #: rewrite mode: whatever is on disk, even a broken file, is replaced, not read.
        self.ignore_existing = ignore_existing

    def load_cassette(self, cassette_path: str | Path, serializer: CassetteFormat) -> Any:
        from vcr.persisters.filesystem import CassetteNotFoundError
        from vcr.serialize import deserialize

        path = Path(cassette_path)
        if self.ignore_existing or not path.is_file():
            raise CassetteNotFoundError()
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BrokenCassette(path, f"cannot be read ({exc})") from None
        if not text.strip():
            raise CassetteNotFoundError()
        try:
            return deserialize(text, serializer)
        except ValueError as exc:
            raise BrokenCassette(path, str(exc)) from None

    def save_cassette(
        self, cassette_path: str | Path, cassette_dict: dict[str, Any], serializer: CassetteFormat
    ) -> None:
        from vcr.serialize import serialize

        from pytest_llmeval.files import write_atomic

        write_atomic(Path(cassette_path), serialize(cassette_dict, serializer))


# --- matching: method, path, query and the JSON body; never headers ------------------------


def canonical_body(request: Any) -> bytes:
    """The body with JSON keys sorted, memoised on the vcrpy request (matching runs often)."""
    cached: bytes | None = getattr(request, "_llmeval_canonical", None)
    if cached is not None:
        return cached
    from pytest_llmeval.traffic.cache import canonical_json

    raw = request.body
    canonical = canonical_json(raw if isinstance(raw, bytes) else (raw or "").encode("utf-8"))
    request._llmeval_canonical = canonical
    return canonical


def json_body(r1: Any, r2: Any) -> None:
    """vcrpy matcher: equal bodies once JSON key order is ignored."""
    if canonical_body(r1) != canonical_body(r2):
        raise AssertionError("request bodies differ")


def match_on() -> tuple[Callable[[Any, Any], None], ...]:
    from vcr import matchers

    return (matchers.method, matchers.path, matchers.query, json_body)


def read_cassette(path: Path) -> list[Interaction]:
    """A cassette's interactions in their written form; ``BrokenCassette`` if unreadable."""
    try:
        interactions = _interactions(path.read_text(encoding="utf-8"))
        _vcr_form(interactions)
    except (OSError, UnicodeDecodeError) as exc:
        raise BrokenCassette(path, f"cannot be read ({exc})") from None
    except ValueError as exc:
        raise BrokenCassette(path, str(exc)) from None
    return interactions
