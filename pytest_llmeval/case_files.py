"""Eval sets kept as data: ``cases("cases.jsonl", id="id")`` turns a JSON Lines or YAML file
of cases into ``pytest.param``s for ``parametrize``, each named by its id field.

    @pytest.mark.parametrize("case", cases("cases.jsonl"))
    def test_classification(llmeval, bot, case): ...

A broken file fails the collection of the test module that reads it, naming the file and the
line (JSON Lines) or the item and its line (YAML): a case silently dropped would pass for a
case that ran.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_YAML = (".yaml", ".yml")
_JSONL = (".jsonl", ".ndjson")


def cases(path: str | os.PathLike[str], *, id: str = "id") -> list[Any]:
    """One ``pytest.param(case)`` per case of ``path`` (relative to the calling file's
    directory), its id the case's ``id`` field, made safe for a node id and a cassette name.

    ``.jsonl``: one JSON object per line, blank lines skipped. ``.yaml``/``.yml``: a list of
    mappings (``yaml.safe_load``). A line or document that does not parse, a case that is not
    an object, or one whose id is missing or used before fails collection, naming where.
    """
    file = Path(path)
    if not file.is_absolute():
        file = _caller_dir() / file
    shown = _shown(file)
    if file.suffix not in _YAML + _JSONL:
        _fail(f"cases({str(path)!r}): a .jsonl or .yaml file, not {file.suffix or 'no suffix'}")
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        _fail(f"cases: cannot read {shown} ({exc.strerror or exc})")
    found = _yaml_cases(text, shown) if file.suffix in _YAML else _jsonl_cases(text, shown)
    params = []
    seen: dict[str, str] = {}
    taken: set[str] = set()
    for where, case in found:
        if not isinstance(case, dict):
            _fail(f"{where}: a case is an object, not {type(case).__name__}: {_cut(case)}")
        raw = case.get(id)
        if raw is None or isinstance(raw, (bool, dict, list)) or str(raw).strip() == "":
            _fail(f"{where}: the case has no {id!r} field (cases(..., id={id!r}) names it)")
        key = str(raw)
        if key in seen:
            _fail(f"{where}: duplicate {id} {key!r}, first used at {seen[key]}")
        seen[key] = where
        params.append(pytest.param(case, id=_unique(_safe(key), taken)))
    return params


def _caller_dir() -> Path:
    # The frame that called ``cases``: its module's file, as a test module or conftest.
    frame = sys._getframe(2)
    name = frame.f_globals.get("__file__")
    return Path(name).resolve().parent if isinstance(name, str) else Path.cwd()


def _shown(file: Path) -> str:
    try:
        return os.path.relpath(file)
    except ValueError:  # another drive on Windows
        return str(file)


def _fail(message: str) -> NoReturn:
    # At import of a test module, a ``pytest.fail`` without a traceback is a collection
    # error showing this message alone.
    pytest.fail(f"llmeval: {message}", pytrace=False)


def _cut(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _jsonl_cases(text: str, shown: str) -> Iterator[tuple[str, Any]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            problem = f"{exc.msg}, column {exc.colno}"
        else:
            yield f"{shown}:{number}", value
            continue
        # Outside the except block: the message alone, without the decoder's traceback.
        _fail(f"{shown}:{number}: not JSON ({problem})")


def _yaml_cases(text: str, shown: str) -> Iterator[tuple[str, Any]]:
    import yaml

    broken: str | None = None
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        broken = f"{shown}{line}: not YAML ({problem})"
    if broken is not None:
        _fail(broken)
    if data is None:
        return
    if not isinstance(data, list) or not isinstance(root, yaml.SequenceNode):
        _fail(f"{shown}: a list of cases (each a mapping), not {type(data).__name__}")
    for index, (value, node) in enumerate(zip(data, root.value, strict=True)):
        yield f"{shown}: item {index} (line {node.start_mark.line + 1})", value


def _safe(key: str) -> str:
    """An id readable in a node id and a file name: runs of other characters become ``-``."""
    return _UNSAFE.sub("-", key).strip("-") or "case"


def _unique(base: str, taken: set[str]) -> str:
    """Two ids that only differ in what ``_safe`` replaced stay apart: ``a-b``, ``a-b-2``."""
    name, number = base, 2
    while name in taken:
        name, number = f"{base}-{number}", number + 1
    taken.add(name)
    return name
