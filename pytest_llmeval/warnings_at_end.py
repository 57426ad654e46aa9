"""The run end's warnings are shown, never raised, whatever the warning filters say.

``-W error``, ``PYTHONWARNINGS=error`` or ``filterwarnings = error`` in the user's ini make
``warnings.warn`` raise. During a test that is what the user asked for: the test errors. At
the run's end there is no test to fail: a warning raised there either escaped pytest as a
traceback with no summary of the tests (a failing ``pytest_llmeval_run_finished``), or was
caught by the code that issued it and changed what the run decided (a history file that was
skipped with a warning became "drift could not be computed", and with
``--llmeval-fail-on-drift`` a failed run). So while the run ends, an ``error`` filter counts as
``always``: the warning lands in pytest's warnings summary, the verdict is the same as without
the filter, and ``ignore`` filters still hold.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Iterator


@contextlib.contextmanager
def shown_not_raised() -> Iterator[None]:
    """The current warning filters, with ``error`` read as ``always``, until the block ends."""
    with warnings.catch_warnings():
        kept = list(warnings.filters)
        warnings.resetwarnings()
        # filterwarnings puts each filter first: in reverse, they keep their order.
        for action, message, category, module, lineno in reversed(kept):
            warnings.filterwarnings(
                "always" if action == "error" else action,  # type: ignore[arg-type]
                _pattern(message),
                category,  # type: ignore[arg-type]
                _pattern(module),
                lineno,
            )
        yield


def _pattern(match: re.Pattern[str] | str | None) -> str:
    """A filter's message or module as ``filterwarnings`` takes it: the interpreter's own
    filters (``default::DeprecationWarning:__main__``) hold the module's exact name."""
    if match is None:
        return ""
    if isinstance(match, str):
        return re.escape(match) + r"\Z"
    return match.pattern
