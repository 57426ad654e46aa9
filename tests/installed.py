"""The installed distributions' metadata, parsed once per process instead of once per run.

Each pytest run, and so each of the suite's in-process ``pytester`` runs, looks through every
installed distribution for ``pytest11`` entry points (pluggy reads each ``entry_points.txt``)
and parses the ``METADATA`` of the plugins it loads for its header (``plugins: llmeval-...``).
This package's ``METADATA`` carried the whole README (~150 KB; since then a short
``docs/pypi.md``): parsing it several times per run was a fifth of a one-test run (60 of
260 ms, measured alternately). Nothing is installed
while the suite runs, so what a dist-info folder holds is read and parsed once; finding the
folders is not cached (a run's working directory is on ``sys.path``), and autoload still
loads every plugin a user's run would.
"""

from __future__ import annotations

import functools
import importlib.metadata as metadata
from collections.abc import Iterable
from pathlib import Path
from typing import Any


class _ParsedOnce(metadata.PathDistribution):
    @functools.cached_property
    def metadata(self) -> Any:  # type: ignore[override]
        return super().metadata

    @functools.cached_property
    def entry_points(self) -> metadata.EntryPoints:  # type: ignore[override]
        return super().entry_points


_PARSED: dict[str, _ParsedOnce] = {}
_discover = metadata.distributions


def _distributions(**kwargs: Any) -> Iterable[metadata.Distribution]:
    found = []
    for dist in _discover(**kwargs):
        where = getattr(dist, "_path", None)  # a dist-info folder, for the finders of sys.path
        if type(dist) is metadata.PathDistribution and isinstance(where, Path):
            dist = _PARSED.setdefault(str(where), _ParsedOnce(where))
        found.append(dist)
    return found


def parse_once() -> None:
    metadata.distributions = _distributions
