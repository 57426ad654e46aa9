"""Key-shaped strings in files about to be committed: cassettes, history, reports.

Scrubbing keeps known values out of what the plugin writes; this is the second line, for what
scrubbing could not know (a key pasted into a prompt, a cloud credential the app sent, a file
edited by hand). A finding names the file, the line and the kind of secret, and never the
secret: at most its first characters, which the kind's own prefix already gives away.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

#: The credential replay hands the SDK: never sent, never a secret.
REPLAY_PLACEHOLDER = "llmeval-replay-placeholder-not-a-key"
_SHOWN_CHARS = 6
_VALUE_OF = "value of "

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
)
_ALLOWED = frozenset({REPLAY_PLACEHOLDER})


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


def _values(named: Mapping[str, str]) -> list[tuple[str, str]]:
    """(kind, text) for each value, also as it stands inside a JSON string; longest first."""
    found = []
    for name, value in named.items():
        for form in {value, json.dumps(value)[1:-1]}:
            found.append((f"{_VALUE_OF}${name}", form))
    return sorted(found, key=lambda kv: len(kv[1]), reverse=True)


def scan_text(path: Path, text: str, named: Mapping[str, str] | None = None) -> list[Finding]:
    """Every secret in ``text``, in order; ``named`` maps variable names to their values."""
    values = _values(named or {})
    findings = []
    for number, line in enumerate(text.splitlines(), start=1):
        candidates = list(_candidates(line, values))
        taken: list[tuple[int, int]] = []
        hits = []
        for begin, end, kind, secret in candidates:
            # One secret is one finding, whichever patterns it matches (values first).
            if secret in _ALLOWED or any(s < end and begin < e for s, e in taken):
                continue
            taken.append((begin, end))
            hits.append((begin, kind, secret))
        findings += [
            Finding(path, number, kind, hint(secret, known_shape=not kind.startswith(_VALUE_OF)))
            for _, kind, secret in sorted(hits)
        ]
    return findings


def _candidates(line: str, values: list[tuple[str, str]]) -> Iterator[tuple[int, int, str, str]]:
    for kind, value in values:
        begin = line.find(value)
        while begin != -1:
            yield begin, begin + len(value), kind, value
            begin = line.find(value, begin + 1)
    for kind, pattern in PATTERNS:
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


def redact(text: str) -> str:
    """``text`` with each key-shaped string replaced by its kind and first characters, for a
    failure message that shows response or document text."""
    for kind, pattern in PATTERNS:
        group = "secret" if "secret" in pattern.groupindex else 0

        def hide(match: re.Match[str], kind: str = kind, group: str | int = group) -> str:
            secret = match.group(group)
            if secret in _ALLOWED:
                return match.group(0)
            begin, end = (at - match.start() for at in match.span(group))
            whole = match.group(0)
            return f"{whole[:begin]}<{kind} {hint(secret)}>{whole[end:]}"

        text = pattern.sub(hide, text)
    return text
