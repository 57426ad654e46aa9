"""A cassette's written form: reviewable YAML out, checked interactions back in.

Every cassette the plugin reads came from a pull request and may be cut, hand-edited or
written by another tool. Reading checks the type of every field it uses and names the
interaction and field that is wrong; recognises vcrpy's (and pytest-recording's) own layout;
and compares each body with the digest written beside it, because a file cut inside a
literal block is still valid YAML and would otherwise replay a truncated body.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from pytest_llmeval.traffic.cassette_lines import load_yaml
from pytest_llmeval.traffic.closed_early import CLOSED_EARLY
from pytest_llmeval.traffic.usable import header_name_ok, header_value_ok, recorded_time_ok

FORMAT_VERSION = 1
HEADER = "# Model API calls of "
_HEADER_END = ", recorded by pytest-llmeval."
#: In each interaction's ``llmeval`` metadata: SHA-256 of the body text exactly as written.
DIGESTS = {"request": "request_sha256", "response": "response_sha256"}
#: Top level: how many interactions were written. Its presence also says "every interaction
#: has digests", so a file cut before the last interaction's metadata is caught too.
COUNT = "count"
FOREIGN = "written by vcrpy/pytest-recording, not pytest-llmeval"

Interaction = dict[str, Any]


class CassetteProblem(ValueError):
    """What is wrong with a cassette's text, worded for the person who has to fix it."""


# --- writing ------------------------------------------------------------------------------


def readable_body(body: Any) -> str | bytes:
    """JSON as indented text, other UTF-8 as text; bytes that are not UTF-8 stay bytes."""
    if body is None or body == b"" or body == "":
        return ""
    if isinstance(body, bytes):
        raw: bytes = body
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw  # YAML writes it as !!binary: unreadable, but exact
    if not isinstance(body, str):
        return str(body)
    if body.lstrip()[:1] in ("{", "["):
        try:
            return json.dumps(json.loads(body), indent=2, ensure_ascii=False) + "\n"
        except (ValueError, RecursionError):
            pass
    return body


def body_digest(body: Any) -> str:
    """SHA-256 of a body as written: UTF-8 text, or the bytes of a binary body."""
    if body is None:
        body = ""
    data = body if isinstance(body, bytes) else str(body).encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def header_line(nodeid: str) -> str:
    """The first line of a cassette of ``nodeid``: says which test owns the file."""
    shown = nodeid.replace("\r", "\\r").replace("\n", "\\n")
    return f"{HEADER}{shown}{_HEADER_END}"


def header(nodeid: str) -> str:
    return f"{header_line(nodeid)}\n# Re-record: {rerecord_command(nodeid)}\n"


def rerecord_command(nodeid: str) -> str:
    quoted = nodeid.replace("'", "'\\''").replace("\n", "\\n")
    return f"pytest --llmeval-mode=rewrite '{quoted}'"


def _scrubbed(value: Any, scrub: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {key: _scrubbed(item, scrub) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrubbed(item, scrub) for item in value]
    return value


def dump(nodeid: str, interactions: list[Interaction], scrub: Callable[[str], str]) -> str:
    """The cassette's text. ``scrub`` runs on every string before the digests are taken, so
    a digest always describes the body as it is in the file."""
    written: list[Interaction] = []
    for interaction in interactions:
        final = _scrubbed(interaction, scrub)
        meta = final.get("llmeval")
        meta = dict(meta) if isinstance(meta, dict) else {}
        for part, key in DIGESTS.items():
            section = final.get(part)
            meta[key] = body_digest(section.get("body") if isinstance(section, dict) else None)
        final["llmeval"] = meta
        written.append(final)
    from pytest_llmeval.traffic.cassette_yaml import dump_yaml

    document = {"version": FORMAT_VERSION, COUNT: len(written), "interactions": written}
    return header(nodeid) + dump_yaml(document)


# --- reading ------------------------------------------------------------------------------


def header_nodeid(text: str) -> str | None:
    """The test named in the first line pytest-llmeval writes; ``None`` if there is none."""
    first = text[: text.find("\n")] if "\n" in text else text
    if not first.startswith(HEADER):
        return None
    return first[len(HEADER) :].removesuffix(_HEADER_END)


def _shown(value: Any) -> str:
    """A value from the file, quoted in a message: short, and never a walk of a structure
    (an alias bomb's repr would be 10**9 items)."""
    if not isinstance(value, (str, int, float)):
        return _kind(value)
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**40 else "a huge number"
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if value is None:
        return "empty"
    return type(value).__name__


class _Fields:
    """Typed access to one interaction's fields; errors name the interaction and the field."""

    def __init__(self, number: int) -> None:
        self.number = number

    def fail(self, field: str, message: str) -> CassetteProblem:
        return CassetteProblem(f"interaction #{self.number} is malformed: {field} {message}")

    def mapping(self, parent: Any, name: str, where: str, *, required: bool = True) -> Any:
        value = parent.get(name) if isinstance(parent, dict) else None
        if value is None and not required:
            return {}
        if value is None:
            raise self.fail(f"{where}{name}", "is missing")
        if not isinstance(value, dict):
            raise self.fail(f"{where}{name}", f"must be a mapping, not {_kind(value)}")
        return value

    def text(self, parent: dict[str, Any], name: str, where: str) -> str:
        value = parent.get(name)
        if value is None:
            raise self.fail(f"{where}{name}", "is missing")
        if not isinstance(value, str):
            raise self.fail(f"{where}{name}", f"must be text, not {_kind(value)}")
        return value

    def body(self, parent: dict[str, Any], where: str) -> str | bytes:
        value = parent.get("body")
        if value is None:
            return ""
        if not isinstance(value, (str, bytes)):
            raise self.fail(f"{where}body", f"must be text, not {_kind(value)}")
        return value

    def headers(self, parent: dict[str, Any], where: str) -> dict[str, list[str]]:
        headers = self.mapping(parent, "headers", where, required=False)
        out: dict[str, list[str]] = {}
        for name, values in headers.items():
            listed = values if isinstance(values, list) else [values]
            for value in listed:
                if isinstance(value, (dict, list)) or value is None:
                    raise self.fail(f"{where}headers.{name}", f"must be text, not {_kind(value)}")
            out[str(name)] = [str(v) for v in listed]
        return out


def _is_foreign(interactions: list[Any]) -> bool:
    """vcrpy writes ``body: {string: ...}``; pytest-llmeval writes the body itself."""
    for interaction in interactions:
        response = interaction.get("response") if isinstance(interaction, dict) else None
        body = response.get("body") if isinstance(response, dict) else None
        if isinstance(body, dict) and "string" in body:
            return True
    return False


def load(text: str) -> list[Interaction]:
    """A cassette's interactions in their written form, every field checked.

    Raises ``CassetteProblem`` saying what is wrong and where.
    """
    data = _document(text)
    if not isinstance(data, dict) or not isinstance(data.get("interactions"), list):
        raise CassetteProblem("not a cassette: expected a mapping with an 'interactions' list")
    interactions: list[Any] = data["interactions"]
    if header_nodeid(text) is None and _is_foreign(interactions):
        raise CassetteProblem(f"{FOREIGN}: its bodies are stored as 'body: {{string: ...}}'")
    version = data.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise CassetteProblem(
            f"format version {_shown(version)} is not one this pytest-llmeval reads "
            f"({FORMAT_VERSION}): upgrade pytest-llmeval or re-record"
        )
    count = data.get(COUNT)
    if count is not None and (not isinstance(count, int) or isinstance(count, bool)):
        raise CassetteProblem(f"'{COUNT}' must be a whole number, not {_kind(count)}")
    if count is not None and count != len(interactions):
        raise CassetteProblem(
            f"has {len(interactions)} interaction(s) but was written with {count}: "
            "the file was cut or edited"
        )
    for number, interaction in enumerate(interactions, start=1):
        _check(number, interaction, digests_required=count is not None)
    return interactions


def _document(text: str) -> Any:
    """The cassette's YAML document; text that is not YAML is a ``CassetteProblem``."""
    try:
        return load_yaml(text)
    except RecursionError:
        # The safe constructor recurses per level (a nested value shared through an alias).
        raise CassetteProblem("not a cassette: its collections are nested too deeply") from None
    except (ValueError, OverflowError) as exc:
        # The safe constructor's own limits: an integer of more than 4,300 digits...
        why = str(exc).split(";")[0]  # not Python's advice on raising its limit
        raise CassetteProblem(f"not a cassette: a value cannot be read ({why})") from None
    except Exception as exc:
        # Only libyaml raises (the line reader declines instead): PyYAML is loaded by now.
        from pytest_llmeval.traffic.cassette_yaml import YAMLError

        if not isinstance(exc, YAMLError):
            raise
        raise CassetteProblem(f"not valid YAML ({' '.join(str(exc).split())[:200]})") from None


def _check(number: int, interaction: Any, *, digests_required: bool) -> None:
    fields = _Fields(number)
    if not isinstance(interaction, dict):
        raise CassetteProblem(
            f"interaction #{number} is malformed: expected a mapping with 'request' and "
            f"'response', not {_kind(interaction)}"
        )
    request = fields.mapping(interaction, "request", "")
    fields.text(request, "method", "request.")
    uri = fields.text(request, "uri", "request.")
    try:
        urlsplit(uri)  # what replay matches on: its path and query
    except ValueError as exc:
        raise fields.fail("request.uri", f"is not a URL ({exc})") from None
    fields.headers(request, "request.")
    bodies = {"request": fields.body(request, "request.")}
    response = fields.mapping(interaction, "response", "")
    status = fields.mapping(response, "status", "response.")
    code = status.get("code")
    if not isinstance(code, int) or isinstance(code, bool):
        raise fields.fail("response.status.code", f"must be a whole number, not {_kind(code)}")
    if not 100 <= code <= 599:
        raise fields.fail("response.status.code", f"must be an HTTP status (100-599), not {code}")
    message = status.get("message") or ""
    if not isinstance(message, str):
        raise fields.fail("response.status.message", f"must be text, not {_kind(message)}")
    if not header_value_ok(message):
        raise fields.fail(
            "response.status.message", f"must be printable ASCII, not {_shown(message)}"
        )
    _check_answer_headers(fields, fields.headers(response, "response."))
    bodies["response"] = fields.body(response, "response.")
    meta = fields.mapping(interaction, "llmeval", "", required=False)
    # Budgets compare against these: a NaN passes every comparison, a negative time any.
    for key, value in (("duration_s", meta.get("duration_s", 0.0)), ("ttft_s", meta.get("ttft_s"))):
        if value is None and key == "ttft_s":
            continue  # absent in cassettes from before it was kept: unknown
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise fields.fail(f"llmeval.{key}", f"must be a number, not {_kind(value)}")
        if not recorded_time_ok(value):
            shown = repr(value) if isinstance(value, float) or abs(value) < 10**15 else "huge"
            raise fields.fail(f"llmeval.{key}", f"must be seconds >= 0, not {shown}")
    if not isinstance(meta.get(CLOSED_EARLY, False), bool):
        raise fields.fail(
            f"llmeval.{CLOSED_EARLY}", f"must be true or false, not {_kind(meta[CLOSED_EARLY])}"
        )
    if not isinstance(meta.get("role", ""), str):
        raise fields.fail("llmeval.role", f"must be text, not {_kind(meta.get('role'))}")
    for part, key in DIGESTS.items():
        expected = meta.get(key)
        if expected is None:
            if digests_required:
                raise CassetteProblem(
                    f"interaction #{number}: llmeval.{key} is missing: the file was cut or edited"
                )
            continue
        if expected != body_digest(bodies[part]):
            raise CassetteProblem(
                f"interaction #{number}: {part} body does not match its digest: "
                "the file was cut or edited"
            )


def _check_answer_headers(fields: _Fields, headers: dict[str, list[str]]) -> None:
    """The response headers replay answers with: each must make a valid HTTP answer, or the
    SDK takes the failure for a dropped connection, retries and reports a wrong miss."""
    for name, values in headers.items():
        if not header_name_ok(name):
            raise fields.fail(f"response.headers.{_shown(name)}", "is not a valid header name")
        for value in values:
            if not header_value_ok(value):
                shown = f"response.headers.{name}"
                raise fields.fail(shown, f"must be printable ASCII, not {_shown(value)}")
        # Bodies are written decoded: a recorded encoding would make replay decode them again.
        if name.lower() == "content-encoding" and any(v.lower() != "identity" for v in values):
            raise fields.fail(
                "response.headers.content-encoding",
                f"is {_shown(values[0])}, but cassette bodies are stored decoded: "
                "delete the header",
            )


def response_headers(number: int, interaction: Interaction) -> dict[str, list[str]]:
    """A checked written interaction's response headers as vcrpy holds them (lists of text)."""
    return _Fields(number).headers(interaction["response"], "response.")


#: The metadata values the plugin writes: anything else in a loaded file is not carried.
_PLAIN = (str, int, float, bool)


def vcr_form(interactions: list[Interaction]) -> list[Interaction]:
    """Checked written interactions as vcrpy holds them (headers as lists, body wrapped).

    Only the fields read are carried, and of the metadata only plain values: vcrpy writes
    the loaded interactions out again when a test records more, and walking a value that
    YAML aliases built ("billion laughs", a few lines that expand to 10**9) took minutes
    and gigabytes."""
    out: list[Interaction] = []
    for number, interaction in enumerate(interactions, start=1):
        fields = _Fields(number)
        request, response = interaction["request"], interaction["response"]
        meta = interaction.get("llmeval") or {}
        status = response["status"]
        out.append(
            {
                "request": {
                    "method": request["method"],
                    "uri": request["uri"],
                    "body": request.get("body") or "",
                    "headers": fields.headers(request, "request."),
                },
                "response": {
                    "status": {"code": status["code"], "message": status.get("message") or ""},
                    "headers": fields.headers(response, "response."),
                    "body": {"string": response.get("body") or ""},
                    "llmeval": {k: v for k, v in meta.items() if isinstance(v, _PLAIN)},
                },
            }
        )
    return out
