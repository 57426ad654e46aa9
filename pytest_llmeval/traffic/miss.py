"""A replay miss that explains itself: the request, the closest recording, what changed."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_llmeval.traffic.cassettes import display_path
from pytest_llmeval.traffic.wire import beta_of

if TYPE_CHECKING:
    import httpx2

    from pytest_llmeval.traffic.live import LiveRequest
    from pytest_llmeval.traffic.plan import Plan

_MAX_CHANGES = 20
_MAX_VALUE = 120


@dataclass(frozen=True)
class Recorded:
    """One recorded request as the miss report sees it."""

    method: str
    path: str
    body: bytes
    played: bool
    #: Its ``anthropic-beta`` header, "" without one.
    beta: str = ""


@dataclass(frozen=True)
class MissContext:
    nodeid: str
    cassette: Path
    cassette_exists: bool
    mode: str
    #: Why this test is replaying, e.g. "CI is set" (auto mode without a cassette).
    reason: str
    #: Options of this run that shape requests (``--llmeval-samples=5``): a re-record must
    #: repeat them, or it records what this run does not ask.
    rerecord_args: tuple[str, ...] = ()
    #: The command that re-runs this test with ``{mode}`` for record or rewrite, when it is
    #: not pytest on the nodeid (``llmeval calibrate`` runs its labels file as a test).
    rerun_command: str | None = None

    @classmethod
    def of(
        cls, nodeid: str, plan: Plan, rerecord_args: tuple[str, ...], rerun_command: str | None
    ) -> MissContext:
        """The context of a test's misses under ``plan``."""
        return cls(
            nodeid=nodeid,
            cassette=plan.cassette,
            cassette_exists=plan.cassette_exists,
            mode=plan.mode.value,
            reason=plan.reason,
            rerecord_args=rerecord_args,
            rerun_command=rerun_command,
        )

    def command(self, mode: str) -> str:
        if self.rerun_command is not None:
            return self.rerun_command.replace("{mode}", mode)
        extra = "".join(f" {arg}" for arg in self.rerecord_args)
        return f"pytest --llmeval-mode={mode}{extra} '{self.nodeid}'"


def _json(body: bytes) -> Any:
    try:
        return json.loads(body) if body.strip() else None
    except (ValueError, RecursionError):
        return body.decode("utf-8", errors="replace")


def _short(value: Any) -> str:
    text = "(absent)" if value is _ABSENT else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 3] + "..."


_CONTEXT = 40
_MAX_DIFF_LINES = 24


def _window(text: str, start: int, end: int) -> str:
    """``text[start:end]`` with up to ``_CONTEXT`` characters either side, quoted as JSON."""
    left, right = max(0, start - _CONTEXT), min(len(text), end + _CONTEXT)
    shown = json.dumps(text[left:right], ensure_ascii=False)[1:-1]
    return f'"{"..." if left else ""}{shown}{"..." if right < len(text) else ""}"'


def _unchanged(text: str) -> str:
    return text


def describe_change(
    where: str, old: Any, new: Any, shown: Callable[[str], str] = _unchanged
) -> list[str]:
    """Lines saying how one value changed; long text shows where, not just how it starts.

    An edit at the end of a 2,000-character document must be visible: multi-line text gets a
    compact unified diff, one-line text a window around the first and last difference.
    ``shown`` scrubs text before it is cut: a secret cut in two is no longer recognised.
    """
    if not (isinstance(old, str) and isinstance(new, str)):
        return [f"  {where}: {shown(_short(old))} -> {shown(_short(new))}"]
    raw_differ, old, new = old != new, shown(old), shown(new)
    if raw_differ and old == new:
        # A cassette recorded before a value was scrubbed, or edited: it holds the secret.
        return [f"  {where}: differs in a scrubbed value only: the cassette holds a secret"]
    if len(old) + len(new) <= 2 * _MAX_VALUE - 20 and "\n" not in old + new:
        return [f"  {where}: {_short(old)} -> {_short(new)}"]
    if "\n" in old or "\n" in new:
        import difflib

        diff = list(
            difflib.unified_diff(
                old.splitlines(), new.splitlines(), "recorded", "requested", n=1, lineterm=""
            )
        )[2:]
        if len(diff) > _MAX_DIFF_LINES:
            diff = [*diff[:_MAX_DIFF_LINES], f"... and {len(diff) - _MAX_DIFF_LINES} more lines"]
        return [f"  {where}: the text changed:", *(f"    {line[:200]}" for line in diff)]
    prefix = 0
    while prefix < min(len(old), len(new)) and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while (
        suffix < min(len(old), len(new)) - prefix
        and old[len(old) - 1 - suffix] == new[len(new) - 1 - suffix]
    ):
        suffix += 1
    return [
        f"  {where}: at character {prefix + 1} of {len(old)}:",
        f"    recorded:  {_window(old, prefix, len(old) - suffix)}",
        f"    requested: {_window(new, prefix, len(new) - suffix)}",
    ]


class _Absent:
    pass


_ABSENT: Any = _Absent()


def json_changes(old: Any, new: Any, path: str = "$") -> list[tuple[str, Any, Any]]:
    """Every leaf that differs, as (JSON path, recorded value, requested value)."""
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[tuple[str, Any, Any]] = []
        for key in list(old) + [k for k in new if k not in old]:
            sub = f"{path}.{key}" if key.isidentifier() else f"{path}[{json.dumps(key)}]"
            changes += json_changes(old.get(key, _ABSENT), new.get(key, _ABSENT), sub)
        return changes
    if isinstance(old, list) and isinstance(new, list):
        changes = []
        for index in range(max(len(old), len(new))):
            changes += json_changes(
                old[index] if index < len(old) else _ABSENT,
                new[index] if index < len(new) else _ABSENT,
                f"{path}[{index}]",
            )
        return changes
    return [] if old == new else [(path, old, new)]


#: How a change of the ``anthropic-beta`` header is named among the body's changes.
_BETA = "header anthropic-beta"


def _model(body: Any) -> str:
    return f"  model={body['model']}" if isinstance(body, dict) and "model" in body else ""


def explain_miss(
    *,
    method: str,
    path: str,
    body: bytes,
    recorded: Sequence[Recorded],
    context: MissContext,
    shown: Callable[[str], str] = _unchanged,
    beta: str = "",
) -> str:
    """The whole failure message for a request no recording answers; ``shown`` scrubs what
    it quotes of the recordings (a cassette from anyone may hold a secret)."""
    requested = _json(body)
    lines = [
        f"llmeval: no recorded response for this request ({context.mode} mode)",
        f"  cassette: {display_path(context.cassette)}",
        f"  request:  {method} {path}{_model(requested)}",
    ]
    rewrite = context.command("rewrite")
    if not context.cassette_exists:
        lines += [
            "",
            f"The cassette does not exist{f' ({context.reason})' if context.reason else ''}.",
            "Record it where ANTHROPIC_API_KEY is set with:",
            f"  {context.command('record')}",
        ]
        return "\n".join(lines)
    same_endpoint = [r for r in recorded if r.method == method and r.path == path]
    if not same_endpoint:
        have = sorted({f"{r.method} {r.path}" for r in recorded}) or ["nothing"]
        lines += ["", f"The cassette has no {method} {path} call; it has: {', '.join(have)}."]
    else:
        scored = []
        for number, rec in enumerate(recorded, start=1):
            if rec in same_endpoint:
                changes = json_changes(_json(rec.body), requested)
                if rec.beta != beta:
                    changes.insert(0, (_BETA, rec.beta or _ABSENT, beta or _ABSENT))
                scored.append((len(changes), rec.played, number, changes))
        count, _, number, changes = min(scored, key=lambda s: (s[0], s[1], s[2]))
        if count == 0:
            uses = sum(1 for r in same_endpoint if _json(r.body) == requested and r.beta == beta)
            lines += [
                "",
                f"Recording #{number} matches, but every recording of this request was already "
                f"used: the cassette answers it {uses} time(s) and the test asked once more "
                "(more calls, or more samples, than were recorded).",
            ]
        else:
            lines += ["", f"Closest recording: #{number} of {len(recorded)}; what changed:"]
            for where, old, new in changes[:_MAX_CHANGES]:
                lines += describe_change(where, old, new, shown)
            if len(changes) > _MAX_CHANGES:
                lines.append(f"  ... and {len(changes) - _MAX_CHANGES} more")
            lines += ["", "The request changed since the cassette was recorded."]
    lines += [
        "Re-record this test where ANTHROPIC_API_KEY is set with:",
        f"  {rewrite}",
    ]
    return "\n".join(lines)


def miss_response(
    request: httpx2.Request, message: str, error_type: str = "llmeval_cassette_miss"
) -> httpx2.Response:
    """A 404 the SDK does not retry (``x-should-retry: false``) carrying the explanation, so
    nobody waits for back-off against a dead address to read "Connection error."."""
    import httpx2

    error = {"type": "error", "error": {"type": error_type, "message": message}}
    return httpx2.Response(
        404,
        headers={
            "content-type": "application/json",
            "x-should-retry": "false",
            "request-id": "llmeval-cassette-miss",
        },
        stream=httpx2.ByteStream(json.dumps(error).encode("utf-8")),
        request=request,
    )


@dataclass(frozen=True)
class _Crash:
    message: str


class MissRepr:
    """A test report's ``longrepr``: the whole explanation, its first line in the summary."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.reprcrash = _Crash(text.splitlines()[0] if text else "llmeval: cassette miss")

    def toterminal(self, tw: Any) -> None:
        for line in self.text.splitlines():
            tw.line(line)

    def __str__(self) -> str:
        return self.text


def answer_miss(
    live: LiveRequest, recorded: Sequence[Recorded], context: MissContext, misses: list[str]
) -> httpx2.Response:
    """The miss's answer to the SDK; its explanation added to ``misses`` once per test (not
    once per sample or thread)."""
    request = live.request
    assert request is not None  # from the transport
    # Only the scrubbed view is ever shown: the recorded side is scrubbed, and a diff against
    # the live request would print the very value scrubbing removed.
    message = explain_miss(
        method=live.method,
        path=live.path,
        body=live.view()["body"].encode("utf-8"),
        recorded=recorded,
        context=context,
        shown=live.scrubber.shown,
        beta=beta_of(live.view()["headers"]),
    )
    if message not in misses:
        misses.append(message)
    return miss_response(request, message)
