"""pytest's ids for ``parametrize`` values that are secrets: hidden before pytest prints them.

pytest makes a test's id from its parameters' values when it is given none, and prints that id
in every line about the test (``-v``, the summary, JUnit XML, ``--lf`` files): a key passed as
a parameter went to CI logs whole. Such a value's id is ``<argname>-secret-hidden-<hash>``
instead (the hash tells two secrets apart and is stable while the value is). An ``llm`` test
with such an id still errors asking for an id of the user's choosing (``running.py``):
``holds_secret`` knows the form. Ids the user writes (``ids=``, ``pytest.param(id=)``) are
theirs and are not changed.
"""

from __future__ import annotations

import hashlib
import os

import pytest

#: What a hidden id holds, for ``Scrubber.holds_secret`` to know it.
HIDDEN = "-secret-hidden-"


def pytest_make_parametrize_id(config: pytest.Config, val: object, argname: str) -> str | None:
    if isinstance(val, bytes):
        text = val.decode("utf-8", errors="backslashreplace")
    elif isinstance(val, str):
        text = val
    else:
        return None  # pytest names other values by argname and index: no value shown
    if not _secret(config, text):
        return None
    digest = hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()[:8]
    return f"{argname}{HIDDEN}{digest}"


def _secret(config: pytest.Config, text: str) -> bool:
    from pytest_llmeval.secret_scan import redact

    if len(text) < 8:
        return False
    return redact(text) != text or any(value in text for value in _values(config))


_VALUES = pytest.StashKey[tuple[str, ...]]()


def _values(config: pytest.Config) -> tuple[str, ...]:
    """The credentials and ``llmeval_scrub_env`` values of 8 characters or more, read once."""
    values = config.stash.get(_VALUES, None)
    if values is None:
        from pytest_llmeval.traffic.scrub import env_secrets

        try:
            names = [str(n) for n in config.getini("llmeval_scrub_env")]
        except ValueError:
            names = []
        found, _ = env_secrets(os.environ, names)
        values = config.stash[_VALUES] = tuple(v for v in found if len(v) >= 8)
    return values
