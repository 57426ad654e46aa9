"""The project's pytest configuration as the ``llmeval`` command reads it, without pytest.

``llmeval`` runs outside pytest but must find the same rootdir and ``llmeval_*`` ini keys a
test run would, from any subdirectory. pytest's own finder (``_pytest.config.findpaths``) is
private, so this follows its documented rule: walk up from the current directory; in each
directory the first of ``pytest.toml``, ``.pytest.toml``, ``pytest.ini``, ``.pytest.ini``,
``pyproject.toml`` (with ``[tool.pytest.ini_options]`` or pytest 9's ``[tool.pytest]``),
``tox.ini`` (with ``[pytest]``) and ``setup.cfg`` (with ``[tool:pytest]``) that holds pytest
configuration decides the rootdir. With none, a ``pyproject.toml`` without a pytest table
still marks the rootdir, then a ``setup.py``; failing all, the current directory is it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

# pytest parses its ini files with iniconfig (one of its dependencies, not a private module):
# the same parser reads continuation lines and comments exactly as a test run does.
import iniconfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - pytest itself depends on tomli below 3.11
    import tomli as tomllib


class ProjectConfigError(Exception):
    """A configuration file that pytest would refuse too: the message names it."""


@dataclass(frozen=True)
class ProjectIni:
    """Where the project is and what its ini says; values as pytest's ``getini`` sees them."""

    rootdir: Path
    #: The file that decided the rootdir; ``None`` when no file did.
    inifile: Path | None = None
    values: Mapping[str, object] = field(default_factory=dict)

    def get(self, name: str) -> str:
        """A string key, stripped; ``""`` when absent."""
        value = self.values.get(name)
        if value is None or isinstance(value, list):
            return ""
        return str(value).strip()

    def getlist(self, name: str) -> list[str]:
        """A ``linelist`` key: one item per non-empty line, or a TOML list."""
        value = self.values.get(name)
        if value is None:
            return []
        items = value if isinstance(value, list) else str(value).splitlines()
        return [str(item).strip() for item in items if str(item).strip()]


def _ini_section(path: Path, section: str) -> dict[str, object] | None:
    try:
        parsed = iniconfig.IniConfig(str(path))
    except (iniconfig.ParseError, OSError, UnicodeDecodeError) as exc:
        raise ProjectConfigError(f"{path}: cannot be read as pytest does ({exc})") from None
    if section not in parsed:
        return None
    return dict(parsed[section].items())


def _toml(path: Path) -> dict[str, object]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as exc:
        raise ProjectConfigError(f"{path}: cannot be read as TOML ({exc})") from None


def _pytest_ini(path: Path) -> dict[str, object] | None:
    # pytest.ini decides the rootdir even without a [pytest] section.
    return _ini_section(path, "pytest") or {}


def _pytest_toml(path: Path) -> dict[str, object] | None:
    table = _toml(path).get("pytest")
    return dict(table) if isinstance(table, dict) else {}


def _pyproject(path: Path) -> dict[str, object] | None:
    tool = _toml(path).get("tool")
    tool_pytest = tool.get("pytest") if isinstance(tool, dict) else None
    if not isinstance(tool_pytest, dict):
        return None
    native = {k: v for k, v in tool_pytest.items() if k != "ini_options"}
    if native:
        return native
    ini_options = tool_pytest.get("ini_options")
    if isinstance(ini_options, dict):
        # INI mode: scalars become text, as pytest turns them into text.
        return {k: v if isinstance(v, list) else str(v) for k, v in ini_options.items()}
    return None


def _tox(path: Path) -> dict[str, object] | None:
    return _ini_section(path, "pytest")


def _setup_cfg(path: Path) -> dict[str, object] | None:
    return _ini_section(path, "tool:pytest")


#: In pytest's order of precedence within one directory.
_LOADERS: dict[str, Callable[[Path], dict[str, object] | None]] = {
    "pytest.toml": _pytest_toml,
    ".pytest.toml": _pytest_toml,
    "pytest.ini": _pytest_ini,
    ".pytest.ini": _pytest_ini,
    "pyproject.toml": _pyproject,
    "tox.ini": _tox,
    "setup.cfg": _setup_cfg,
}


def find_project(start: Path | None = None) -> ProjectIni:
    """The rootdir and ini values pytest would use when run with no arguments in ``start``."""
    here = (start or Path.cwd()).resolve()
    bare_pyproject: Path | None = None
    for base in (here, *here.parents):
        for name, loader in _LOADERS.items():
            path = base / name
            if not path.is_file():
                continue
            if name == "pyproject.toml" and bare_pyproject is None:
                bare_pyproject = path
            values = loader(path)
            if values is not None:
                return ProjectIni(base, path, values)
    if bare_pyproject is not None:
        return ProjectIni(bare_pyproject.parent, bare_pyproject)
    for base in (here, *here.parents):
        if (base / "setup.py").is_file():
            return ProjectIni(base)
    return ProjectIni(here)
