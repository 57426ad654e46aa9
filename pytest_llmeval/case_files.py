"""Eval sets kept as data: ``cases("cases.jsonl", id="id")`` turns a JSON Lines or YAML file
of cases into ``pytest.param``s for ``parametrize``, each named by its id field.

    @pytest.mark.parametrize("case", cases("cases.jsonl"))
    def test_classification(llmeval, bot, case): ...

A broken file fails the collection of the test module that reads it, naming the file and the
line (JSON Lines) or the item and its line (YAML): a case silently dropped would pass for a
case that ran. The file may come from a pull request: what ``data_files`` refuses (a FIFO, a
huge file, a link out of the project, nesting, alias bombs, endless integers) is such a
failure too, and an id that holds a secret is refused before pytest prints it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from pytest_llmeval.data_files import (
    DataFileError,
    json_value,
    read_text,
    text_lines,
    yaml_document,
)

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_YAML = (".yaml", ".yml")
_JSONL = (".jsonl", ".ndjson")
#: An id is part of every line pytest prints of the test: a longer one is cut, with a hash.
_MAX_ID = 100


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
        text = read_text(file, root=_project_root(file))
    except DataFileError as exc:
        _fail(f"cases: cannot read {shown} ({exc})")
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
        if _holds_secret(key):
            _fail(
                f"{where}: the case's {id!r} holds a secret ({key!r}); pytest prints ids in "
                "every line about the test: give the case an id that is not a secret"
            )
        if key in seen:
            _fail(f"{where}: duplicate {id} {key!r}, first used at {seen[key]}")
        seen[key] = where
        params.append(pytest.param(case, id=_unique(_safe(key), taken)))
    return params


def _project_root(file: Path) -> Path:
    """Where a link may lead: the rootdir pytest would find from the file's directory."""
    from pytest_llmeval.project_ini import ProjectConfigError, find_project

    try:
        return find_project(file.parent).rootdir
    except (ProjectConfigError, OSError):
        return file.parent


def _holds_secret(key: str) -> bool:
    """A key-shaped string, or the value of a credential in the environment."""
    from pytest_llmeval.constants import CREDENTIAL_ENV
    from pytest_llmeval.secret_scan import redact

    values = (os.environ.get(name, "") for name in CREDENTIAL_ENV)
    return redact(key) != key or any(len(v) >= 8 and v in key for v in values)


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
    # The message may quote the file (an id, a value): no secret and no control character
    # from it reaches the terminal.
    from pytest_llmeval.constants import CREDENTIAL_ENV
    from pytest_llmeval.data_files import quoted_safely

    for name in CREDENTIAL_ENV:
        value = os.environ.get(name, "")
        if len(value) >= 8:
            message = message.replace(value, "[scrubbed]")
    pytest.fail(f"llmeval: {quoted_safely(message)}", pytrace=False)


def _cut(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _jsonl_cases(text: str, shown: str) -> Iterator[tuple[str, Any]]:
    for number, line in enumerate(text_lines(text), start=1):
        if not line.strip():
            continue
        try:
            value = json_value(line)
        except DataFileError as exc:
            problem = str(exc)
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
        data, root = yaml_document(text)
    except DataFileError as exc:
        broken = f"{shown}: not usable YAML ({exc})"
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
    """An id readable in a node id and a file name: runs of other characters become ``-``;
    one over ``_MAX_ID`` characters is cut, a hash of it whole after the cut."""
    safe = _UNSAFE.sub("-", key).strip("-") or "case"
    if len(safe) <= _MAX_ID:
        return safe
    return f"{safe[:_MAX_ID]}-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:8]}"


def _unique(base: str, taken: set[str]) -> str:
    """Two ids that only differ in what ``_safe`` replaced stay apart: ``a-b``, ``a-b-2``."""
    name, number = base, 2
    while name in taken:
        name, number = f"{base}-{number}", number + 1
    taken.add(name)
    return name
