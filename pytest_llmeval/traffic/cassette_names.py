"""Where a test's cassette lives: one file per test id, never two tests in one file.

``<test dir>/cassettes/<module>/<test name>.yaml``, with ``Class.test_name[param]`` as
pytest-recording names them. Characters that are not safe in a file name become ``_``; where
that, or shortening a long name, loses information, a short hash of the exact name follows,
so ``test[a/b]`` and ``test[a:b]`` get two files instead of one silently replacing the other.
"""

from __future__ import annotations

import functools
import re
from hashlib import sha1
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_llmeval.traffic.cassette_form import header_line

if TYPE_CHECKING:
    import pytest

CASSETTE_DIR = "cassettes"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\[\]=,+@-]")
_MAX_NAME = 150
_HASH_CHARS = 10
#: A readable name that ends like a disambiguated one gets a hash too, so no test's name can
#: be made to equal another test's disambiguated name.
_LOOKS_HASHED = re.compile(r"-[0-9a-f]{10}$")


def name_in_nodeid(nodeid: str) -> str:
    """What follows the file in a node id, classes joined by ``.``: ``Class.test[param]``.

    Split on ``::`` only before the first ``[``: a parameter id may contain ``::`` itself.
    """
    head, bracket, params = nodeid.partition("[")
    return ".".join(head.split("::")[1:]) + bracket + params


def _with_hash(name: str, exact: str) -> str:
    return f"{name[:_MAX_NAME]}-{sha1(exact.encode('utf-8')).hexdigest()[:_HASH_CHARS]}"


def cassette_name(name: str) -> str:
    """The file name (without ``.yaml``) for a test name: readable, and distinct per name."""
    safe = _UNSAFE.sub("_", name)
    if safe != name or len(safe) > _MAX_NAME or _LOOKS_HASHED.search(safe):
        return _with_hash(safe, name)
    return safe


def legacy_cassette_name(name: str) -> str:
    """The name pytest-llmeval 0.1 gave: replaced characters were not disambiguated."""
    safe = _UNSAFE.sub("_", name)
    return _with_hash(safe, name) if len(safe) > _MAX_NAME else safe


def cassette_path(test_path: Path, module_name: str, test_name: str) -> Path:
    """``<test dir>/cassettes/<module>/<test name>.yaml``, distinct for distinct names."""
    return _cassette_dir(test_path, module_name) / f"{cassette_name(test_name)}.yaml"


@functools.lru_cache(maxsize=256)
def _cassette_dir(test_path: Path, module_name: str) -> Path:
    # A module's tests share it: built once (each ``/`` parses its part again) per module.
    return test_path.parent / CASSETTE_DIR / module_name


def owner(path: Path) -> str | None:
    """The first line of a cassette file, if it is pytest-llmeval's header; else ``None``."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            first = handle.readline(4096)
    except OSError:
        return None
    return first.rstrip("\n")


def resolve(test_path: Path, nodeid: str) -> Path:
    """The cassette of the test ``nodeid`` defined in ``test_path``.

    A cassette recorded under the 0.1 name keeps being used, but only while its header names
    this very test: two tests that once shared that name cannot both claim it.
    """
    return _resolved(test_path, nodeid)[0]


def _resolved(test_path: Path, nodeid: str) -> tuple[Path, bool]:
    """``resolve``, and whether that file exists (it was just asked)."""
    path = cassette_path(test_path, test_path.stem, name_in_nodeid(nodeid))
    if path.is_file():
        return path, True
    old_name = legacy_cassette_name(".".join(nodeid.split("::")[1:]))
    legacy = path.with_name(f"{old_name}.yaml")
    if legacy != path and legacy.is_file() and owner(legacy) == header_line(nodeid):
        return legacy, True
    return path, False


def item_cassette_path(item: pytest.Item) -> Path:
    """The cassette of a collected test: ``Class.test[param]`` names as pytest-recording does."""
    return item_cassette(item)[0]


def item_cassette(item: pytest.Item) -> tuple[Path, bool]:
    """``item_cassette_path`` and whether it is a file: the caller need not ask again."""
    if "::" not in item.nodeid:
        path = cassette_path(item.path, item.path.stem, item.name)
        return path, path.is_file()
    return _resolved(item.path, item.nodeid)


def display_path(path: Path) -> str:
    """Relative to where pytest runs when it can be: what a user would type."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
