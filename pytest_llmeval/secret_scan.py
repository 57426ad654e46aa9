"""Key-shaped strings in files about to be committed: cassettes, history, reports.

Scrubbing keeps known values out of what the plugin writes; this is the second line, for what
scrubbing could not know (a key pasted into a prompt, a cloud credential the app sent, a file
edited by hand). A finding names the file, the line and the kind of secret, and never the
secret: at most its first characters, which the kind's own prefix already gives away.
"""

from __future__ import annotations

import bisect
import html
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from pytest_llmeval.traffic.scrub import SECRET_HEADERS

#: The credential replay hands the SDK: never sent, never a secret.
REPLAY_PLACEHOLDER = "llmeval-replay-placeholder-not-a-key"
_SHOWN_CHARS = 6
_VALUE_OF = "value of "
_HEADER_VALUE = "secret header value"


def header_value_pattern(names: Iterable[str], shortest: int = 12) -> re.Pattern[str]:
    """The value (group ``secret``, ``shortest`` characters or more: 12 by default, not a
    cookie's bare name in a source line) of a header among ``names`` as a header line, a YAML
    mapping, a dict's or tuple's repr, or JSON."""
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=lambda n: (-len(n), n)))
    return re.compile(
        rf"(?i)(?<![\w-])(?:{alternatives})(?:[\"']?\s*:\s*(?:-\s+)?|[\"'],\s*)"
        rf"(?:b?[\"'])?(?P<secret>[^\"'\s][^\"'\r\n]{{{max(shortest, 1) - 1},}})"
    )


#: (kind, pattern); the group named ``secret`` (or the whole match) is what is hidden.
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Anthropic API key", re.compile(r"sk-ant-[A-Za-z0-9_-]{20,}")),
    ("AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")),
    (
        "AWS secret access key",
        re.compile(
            r"aws_secret_access_key[\"']?\s*[:=]\s*[\"']?(?P<secret>[A-Za-z0-9/+=]{40})",
            re.IGNORECASE,
        ),
    ),
    ("private key", re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    # A token after "Bearer", long enough not to be prose ("Bearer token", "Bearer <key>").
    ("bearer token", re.compile(r"\b[Bb]earer\s+(?P<secret>[A-Za-z0-9._~+/-]{16,}=*)")),
    # A key in base64 (basic auth, a data URL): "sk-ant-" at each of the three alignments.
    (
        "Anthropic API key in base64",
        re.compile(r"(?:c2stYW50L|NrLWFudC|zay1hbnQt)[A-Za-z0-9+/]{24,}"),
    ),
    # The value of a credential, cookie or organisation header, as a header (a cassette from
    # another recorder), a dict's or a tuple's repr (the SDK's and httpcore's debug logs) or
    # JSON; last, so a key or bearer token in it is named as such.
    (_HEADER_VALUE, header_value_pattern(SECRET_HEADERS)),
)
_BUILT_IN = frozenset(pattern for _, pattern in PATTERNS)
#: Text none of whose lower-cased form holds any of a kind's cues holds none of that kind:
#: ``redact`` then skips its pattern (a long log read once, not once per pattern).
_CUES: dict[str, tuple[str, ...]] = {
    "Anthropic API key": ("sk-ant-",),
    "AWS access key id": ("akia", "asia"),
    "AWS secret access key": ("aws_secret_access_key",),
    "private key": ("private key",),
    "Google API key": ("aiza",),
    "bearer token": ("bearer",),
    "Anthropic API key in base64": ("c2styw50l", "nrlwfudc", "zay1hbnqt"),
    _HEADER_VALUE: ("cookie", "organization-id", "workspace-id", "x-api-key", "authorization"),
}
#: Any cue of any built-in kind; ``None`` if a built-in kind had none (then each must run).
_ANY_CUE = (
    re.compile("|".join(re.escape(cue) for cues in _CUES.values() for cue in cues))
    if all(kind in _CUES for kind, _ in PATTERNS)
    else None
)
#: What scrubbing leaves, and what ``redact`` writes: neither is a secret.
_NOT_SECRET = re.compile(
    r"(?i)(?:[\w.-]+=)?\[scrubbed\]|<[^<>]*…>|\b(?:bearer|basic)\b|[\s,;]"  # a cookie's name too
)


def _harmless(secret: str) -> bool:
    """The replay placeholder, or a value that is only what scrubbing or ``redact`` left."""
    return REPLAY_PLACEHOLDER in secret or len(_NOT_SECRET.sub("", secret)) < 4


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    kind: str
    #: The start of the secret, cut short: safe to print.
    hint: str

    def text(self, shown_path: str) -> str:
        shown = f" ({self.hint})" if self.hint else ""
        return f"{shown_path}:{self.line}: {self.kind}{shown}"


def hint(secret: str, *, known_shape: bool = True) -> str:
    """At most the first 6 characters, fewer for a short value, then an ellipsis.

    A key's first characters are its kind's prefix (``sk-ant``, ``AKIA``); a variable's value
    (a password, say) has none, so less of it is shown.
    """
    shown = min(_SHOWN_CHARS, len(secret) // 4) if known_shape else min(3, len(secret) // 8)
    return secret[:shown] + "…"


def _known_shape(kind: str) -> bool:
    """Whether a secret of ``kind`` starts with a prefix of its own (``sk-ant``, ``AKIA``)
    rather than with what is secret (a variable's value, a cookie)."""
    return not (kind.startswith(_VALUE_OF) or kind == _HEADER_VALUE)


def _values(named: Mapping[str, str]) -> list[tuple[str, str]]:
    """(kind, text) for each value, also as it reads encoded (JSON, repr, URL, base64, HTML: see
    ``encoded_forms``); longest first."""
    from pytest_llmeval.traffic.scrub import encoded_forms

    found = []
    for name, value in named.items():
        # Escaped for HTML too: a report page another tool wrote.
        for form in {value, html.escape(value), *encoded_forms(value)}:
            found.append((f"{_VALUE_OF}${name}", form))
    return sorted(found, key=lambda kv: (-len(kv[1]), kv[1]))


#: An item of a YAML block sequence: ``- value``.
_YAML_ITEM = re.compile(r"\s*-\s+(\S.*)$")
#: A line break as a writer wraps a long string: YAML's escaped break (``\``) and the next
#: line's indent, a terminal's or a Markdown writer's plain break.
_WRAP = re.compile(r"\\?\r?\n[ \t]*")


def scan_text(path: Path, text: str, named: Mapping[str, str] | None = None) -> list[Finding]:
    """Every secret in ``text``, in order; ``named`` maps variable names to their values.

    A secret split across a line break (a long YAML string wrapped, a log line folded) is
    found too, on the line it starts on."""
    values = _values(named or {})
    hits: list[tuple[int, int, str, str]] = []
    key = ""
    for number, line in enumerate(text.splitlines(), start=1):
        item = _YAML_ITEM.match(line)
        if item is None:
            key = line.strip() if line.rstrip().endswith(":") else ""
        elif key:
            # A YAML list under a bare key (vcrpy writes each header's values so): read
            # "- value" as "key: value", so a header's value is known for one.
            line = f"{key} {item.group(1)}"
        hits += [(number, *hit) for hit in _distinct(_candidates(line, values))]
    if "\n" in text.rstrip("\n"):
        lines = {(number, kind) for number, _, kind, _ in hits}
        hits += [h for h in _wrapped(text, values) if (h[0], h[2]) not in lines]
    return [
        Finding(path, number, kind, hint(secret, known_shape=_known_shape(kind)))
        for number, _, kind, secret in sorted(hits)
    ]


def _distinct(
    candidates: Iterable[tuple[int, int, str, str]],
) -> list[tuple[int, str, str]]:
    """(start, kind, secret) of each secret: one secret is one finding, whichever patterns it
    matches (values first)."""
    taken: list[tuple[int, int]] = []
    hits = []
    for begin, end, kind, secret in candidates:
        if _harmless(secret) or any(s < end and begin < e for s, e in taken):
            continue
        taken.append((begin, end))
        hits.append((begin, kind, secret))
    return hits


def _wrapped(text: str, values: list[tuple[str, str]]) -> list[tuple[int, int, str, str]]:
    """(line, start, kind, secret) of the secrets that only a line break's removal shows."""
    parts, starts, position, last = [], [], 0, 0
    for wrap in _WRAP.finditer(text):
        starts.append(position)
        parts.append(text[last : wrap.start()])
        position += wrap.start() - last
        last = wrap.end()
    starts.append(position)
    parts.append(text[last:])
    joined = "".join(parts)
    found = []
    for begin, kind, secret in _distinct(_candidates(joined, values, lines_joined=True)):
        line = bisect.bisect_right(starts, begin)
        if bisect.bisect_right(starts, begin + len(secret) - 1) != line:
            found.append((line, begin, kind, secret))
    return found


def _candidates(
    line: str, values: list[tuple[str, str]], *, lines_joined: bool = False
) -> Iterator[tuple[int, int, str, str]]:
    """``lines_joined``: ``line`` is several lines run together, where a header's value
    would run on into the next line's text: header values are left to the lines alone."""
    for kind, value in values:
        begin = line.find(value)
        while begin != -1:
            yield begin, begin + len(value), kind, value
            begin = line.find(value, begin + 1)
    for kind, pattern in PATTERNS:
        if lines_joined and kind == _HEADER_VALUE:
            continue
        for match in pattern.finditer(line):
            group = "secret" if "secret" in pattern.groupindex else 0
            yield match.start(group), match.end(group), kind, match.group(group)


def scan_files(paths: Iterable[Path], named: Mapping[str, str] | None = None) -> list[Finding]:
    findings: list[Finding] = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            findings.append(Finding(path, 0, f"cannot be read ({exc.strerror})", ""))
            continue
        findings += scan_text(path, text, named)
    return findings


def redact(text: str, extra: Iterable[tuple[str, re.Pattern[str]]] = ()) -> str:
    """``text`` with each key-shaped string replaced by its kind and first characters, for a
    failure message that shows response or document text. ``extra``: more (kind, pattern)."""
    lowered = text.lower()
    if not extra and _ANY_CUE is not None and _ANY_CUE.search(lowered) is None:
        return text  # most texts (every replayed test's id): one search, not one per kind
    for kind, pattern in (*PATTERNS, *extra):
        cues = _CUES.get(kind) if pattern in _BUILT_IN else None
        if cues is not None and not any(cue in lowered for cue in cues):
            continue
        group = "secret" if "secret" in pattern.groupindex else 0

        def hide(match: re.Match[str], kind: str = kind, group: str | int = group) -> str:
            secret = match.group(group)
            if _harmless(secret):
                return match.group(0)
            begin, end = (at - match.start() for at in match.span(group))
            whole = match.group(0)
            shown = hint(secret, known_shape=_known_shape(kind))
            return f"{whole[:begin]}<{kind} {shown}>{whole[end:]}"

        text = pattern.sub(hide, text)
    return text
