"""``llmeval cassettes check``: every problem a cassette can bring into a pull request.

Each file is read as a test run would read it (shape, types, digests), its bodies are parsed
as their content-type says, and its header (the test that recorded it) is held against the
tests that exist: a cassette no test uses, a copy that another file's test owns, or two files
that a case-insensitive file system (macOS, Windows) would merge are all reported.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_llmeval.data_files import printable
from pytest_llmeval.traffic.cassette_form import (
    CassetteProblem,
    Interaction,
    header_nodeid,
    load,
    rerecord_command,
)
from pytest_llmeval.traffic.cassette_names import CASSETTE_DIR, display_path, resolve
from pytest_llmeval.traffic.cassettes import outside_problem


@dataclass(frozen=True)
class Problem:
    path: Path
    message: str

    def line(self) -> str:
        return printable(f"{display_path(self.path)}: {self.message}")


def cassette_files(paths: Sequence[str]) -> list[Path]:
    """YAML files under a ``cassettes`` directory, hidden directories skipped."""
    found: list[Path] = []
    for raw in paths or ["."]:
        path = Path(raw)
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            # Only regular files: reading a FIFO named ``x.yaml`` would wait forever.
            found += sorted(
                p
                for p in path.rglob("*.yaml")
                if CASSETTE_DIR in p.parts
                and not any(part.startswith(".") for part in p.parts)
                and p.is_file()
            )
    return found


def recording_test_file(cassette: Path) -> Path:
    """``<test dir>/cassettes/<module>/<name>.yaml`` was recorded by ``<test dir>/<module>.py``."""
    return cassette.parent.parent.parent / f"{cassette.parent.name}.py"


#: ``llmeval calibrate`` collects a labels file as one test, ``<labels>.jsonl::calibrate``.
LABELS_SUFFIX = ".jsonl"


def _labels_problems(cassette: Path, nodeid: str) -> list[Problem]:
    """A calibration's cassette sits in ``cassettes/<labels stem>/`` beside its labels file."""
    labels = cassette.parent.parent.parent / f"{cassette.parent.name}{LABELS_SUFFIX}"
    if labels.is_file():
        return []
    return [
        Problem(
            cassette,
            f"records {nodeid} (an `llmeval calibrate` run), but {display_path(labels)} is "
            "not there: restore the labels file, or delete this cassette",
        )
    ]


def guessed_nodeid(cassette: Path) -> str:
    """For a file with no header (another tool's): the test its name suggests."""
    head, bracket, params = cassette.stem.partition("[")
    test = "::".join(head.split("."))
    return f"{display_path(recording_test_file(cassette))}::{test}{bracket}{params}"


# --- one file -------------------------------------------------------------------------------


def _content_type(headers: Any) -> str:
    value = headers.get("content-type", "") if isinstance(headers, dict) else ""
    first = value[0] if isinstance(value, list) and value else value
    return str(first)


def body_problem(body: Any, content_type: str) -> str | None:
    if not isinstance(body, str) or not body.strip():
        return None
    content_type = content_type.split(";")[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            json.loads(body)
        except (ValueError, RecursionError) as exc:
            return f"is not JSON though its content-type is {content_type} ({exc})"
    elif content_type == "text/event-stream":
        for number, event in enumerate(body.replace("\r\n", "\n").split("\n\n"), start=1):
            data = "\n".join(
                line[5:].removeprefix(" ") for line in event.split("\n") if line.startswith("data:")
            )
            if not data:
                continue
            try:
                json.loads(data)
            except (ValueError, RecursionError) as exc:
                return f"is not valid SSE: the data of event {number} is not JSON ({exc})"
    return None


def _interaction_problems(interactions: list[Interaction]) -> Iterable[str]:
    for number, interaction in enumerate(interactions, start=1):
        bodies_parse = True
        for part in ("request", "response"):
            section = interaction[part]
            problem = body_problem(section.get("body"), _content_type(section.get("headers")))
            if problem:
                bodies_parse = False
                yield f"interaction #{number}: {part} body {problem}"
        mismatch = _model_mismatch(interaction) if bodies_parse else None
        if mismatch:
            yield f"interaction #{number}: {mismatch}"


def _model_mismatch(interaction: Interaction) -> str | None:
    """A response from another model than the request asked for: never recorded so, and the
    test would pass on (and the report price) an answer its code did not get."""
    asked = _json_model(interaction["request"].get("body"))
    response = interaction["response"]
    body = response.get("body")
    if "text/event-stream" in _content_type(response.get("headers")) and isinstance(body, str):
        start = body.find("data: ", body.find("event: message_start"))
        body = body[start + 6 : body.find("\n", start)] if start >= 0 else None
        answered = _json_model(body, "message")
    else:
        answered = _json_model(body)
    if asked is None or answered is None or _same_model(asked, answered):
        return None
    return f"the request asks for model {asked!r} but the response is from {answered!r}"


def _same_model(asked: str, answered: str) -> bool:
    # An alias answers with the dated model it stands for (``claude-x`` -> ``claude-x-2025...``)
    family = asked.removesuffix("-latest")
    return answered == asked or answered.startswith(family + "-")


def _json_model(body: Any, *inside: str) -> str | None:
    try:
        data = json.loads(body) if isinstance(body, str) and body.strip() else None
    except (ValueError, RecursionError):
        return None
    for key in inside:
        data = data.get(key) if isinstance(data, dict) else None
    model = data.get("model") if isinstance(data, dict) else None
    return model if isinstance(model, str) else None


def _file_problems(path: Path, text: str) -> list[str]:
    try:
        interactions = load(text)
    except CassetteProblem as exc:
        nodeid = header_nodeid(text) or guessed_nodeid(path)
        return [f"{exc}; re-record with: {rerecord_command(nodeid)}"]
    return list(_interaction_problems(interactions))


# --- files against tests --------------------------------------------------------------------


def _root(test_file: Path, nodeid: str) -> Path | None:
    """The directory node ids are relative to, if ``nodeid`` names ``test_file`` at all."""
    named = Path(nodeid.split("::")[0])
    parts = test_file.resolve().parts
    if len(named.parts) > len(parts) or parts[len(parts) - len(named.parts) :] != named.parts:
        return None
    return Path(*parts[: len(parts) - len(named.parts)])


def _defined_names(test_file: Path) -> set[str] | None:
    """Every name a module defines or imports; ``None`` if it cannot be parsed."""
    try:
        tree = ast.parse(test_file.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
    return names


def _static_stale(test_file: Path, nodeid: str) -> str | None:
    if not test_file.is_file():
        return f"its test file {display_path(test_file)} is gone: delete the cassette"
    names = _defined_names(test_file)
    if names is None:
        return None  # pytest will say what is wrong with the module
    wanted = nodeid.partition("[")[0].split("::")[1:]
    missing = [name for name in wanted if name not in names]
    if missing:
        return (
            f"{nodeid}: no {'.'.join(missing)} in {display_path(test_file)} any more: "
            "delete the cassette, or re-record it under the test's new name"
        )
    return None


def collected(root: Path, test_files: Iterable[Path]) -> tuple[set[str], str | None]:
    """Node ids pytest collects from ``test_files``, run in ``root``; or why it could not."""
    # "./" first: a file a pull request names ``--junitxml=setup.py`` is a path, not an option.
    args = sorted({f"./{f.resolve().relative_to(root)}" for f in test_files if f.is_file()})
    if not args:
        return set(), None
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode not in (0, 5):  # 5: nothing collected, so every cassette is unused
        last = (done.stdout.strip().splitlines() or done.stderr.strip().splitlines() or ["?"])[-1]
        return set(), f"pytest --collect-only failed in {root} ({last}): run it to see why"
    return {line.strip() for line in done.stdout.splitlines() if "::" in line}, None


def check(paths: Sequence[str], *, collect: bool = False) -> tuple[int, list[Problem]]:
    """How many cassettes were checked, and every problem found, in file order."""
    files = cassette_files(paths)
    problems: list[Problem] = []
    owned: list[tuple[Path, Path, str]] = []  # cassette, root, node id
    for path in files:
        outside = outside_problem(path)
        if outside is not None:
            problems.append(Problem(path, outside))
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(path, f"cannot be read ({exc})"))
            continue
        problems += [Problem(path, message) for message in _file_problems(path, text)]
        nodeid = header_nodeid(text)
        if nodeid is None:
            if not any(p.path == path for p in problems):
                problems.append(
                    Problem(path, "no '# Model API calls of <test>' header: re-record it")
                )
            continue
        if nodeid.partition("::")[0].endswith(LABELS_SUFFIX):
            problems += _labels_problems(path, nodeid)
            continue  # not a pytest module: nothing to collect or resolve
        test_file = recording_test_file(path)
        root = _root(test_file, nodeid)
        if root is None:
            problems.append(
                Problem(path, f"records {nodeid}, but sits with {display_path(test_file)}")
            )
            continue
        owned.append((path, root, nodeid))
        expected = resolve(test_file, nodeid)
        if expected.resolve() != path.resolve():
            problems.append(
                Problem(
                    path,
                    f"{nodeid} uses {display_path(expected)}, not this file: "
                    "a copy or a leftover; delete it",
                )
            )
    problems += _case_clashes(files)
    problems += _collected_problems(owned) if collect else _static_problems(owned)
    order = {path: index for index, path in enumerate(files)}
    problems.sort(key=lambda p: order.get(p.path, len(order)))
    return len(files), problems


def _case_clashes(files: list[Path]) -> list[Problem]:
    by_folded: dict[str, list[Path]] = defaultdict(list)
    for path in files:
        by_folded[str(path.resolve()).casefold()].append(path)
    return [
        Problem(
            path,
            f"differs only in case from {', '.join(display_path(p) for p in group if p != path)}:"
            " one file on macOS and Windows",
        )
        for group in by_folded.values()
        if len(group) > 1
        for path in group
    ]


def _static_problems(owned: list[tuple[Path, Path, str]]) -> list[Problem]:
    problems = []
    for path, _, nodeid in owned:
        stale = _static_stale(recording_test_file(path), nodeid)
        if stale:
            problems.append(Problem(path, stale))
    return problems


def _collected_problems(owned: list[tuple[Path, Path, str]]) -> list[Problem]:
    problems: list[Problem] = []
    by_root: dict[Path, list[tuple[Path, str]]] = defaultdict(list)
    for path, root, nodeid in owned:
        by_root[root].append((path, nodeid))
    for root, entries in by_root.items():
        test_files = {recording_test_file(path) for path, _ in entries}
        nodeids, failure = collected(root, test_files)
        if failure:
            problems += [Problem(path, failure) for path, _ in entries]
            continue
        for path, nodeid in entries:
            if nodeid not in nodeids:
                problems.append(
                    Problem(path, f"{nodeid} is not collected any more: delete the cassette")
                )
        problems += _shared_by_collected(root, nodeids)
    return problems


def _shared_by_collected(root: Path, nodeids: set[str]) -> list[Problem]:
    """Two collected tests whose cassettes are one file on a case-insensitive file system."""
    by_folded: dict[str, list[tuple[Path, str]]] = defaultdict(list)
    for nodeid in sorted(nodeids):
        path = resolve(root / nodeid.split("::")[0], nodeid)
        by_folded[str(path).casefold()].append((path, nodeid))
    return [
        Problem(
            group[0][0],
            f"{' and '.join(n for _, n in group)} would share this file where names ignore "
            "case (macOS, Windows): give the parameters distinct ids",
        )
        for group in by_folded.values()
        if len(group) > 1
    ]
