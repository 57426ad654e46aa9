"""Log lines written while an ``llm`` test runs, scrubbed as they are written.

``--log-cli-level`` (live logging) and ``--log-file`` write each record as it is made, not from
the test's report, which is scrubbed later (``scrubbed.py``): at ``DEBUG`` the SDK's
``HTTP Response`` line and httpcore's trace hold the answer's headers (``set-cookie``, the
organisation id), and an app's own log line may hold what the model echoed. While the test
runs, the handlers that write them (pytest's, on the root logger, and any the SDK added itself
under ``ANTHROPIC_LOG``) format through the test's scrubbing. What a test prints with ``-s``
never passes through logging and is not covered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

Shown = Callable[[str], str]

#: Loggers whose own handlers (the SDK's, under ``ANTHROPIC_LOG``) write without propagating
#: to the root logger's.
_OWN_HANDLERS = ("anthropic", "httpx2")


class _ScrubbingFormatter(logging.Formatter):
    """The handler's own formatting, scrubbed: the record itself is left alone (``caplog``
    and the other handlers read it as it was made)."""

    def __init__(self, inner: logging.Formatter | None, shown: Shown) -> None:
        super().__init__()
        self.inner = inner
        self._shown = shown

    def format(self, record: logging.LogRecord) -> str:
        # A handler with no formatter of its own formats with logging's default.
        return self._shown((self.inner or _DEFAULT).format(record))


_DEFAULT = logging.Formatter()


def scrub_live_logs(shown: Shown) -> Callable[[], None]:
    """Scrub what the handlers in place now write, until the returned function is called."""
    handlers = list(logging.getLogger().handlers)
    for name in _OWN_HANDLERS:
        handlers += logging.getLogger(name).handlers
    wrapped = []
    for handler in dict.fromkeys(handlers):  # a handler on two loggers is wrapped once
        if not isinstance(handler.formatter, _ScrubbingFormatter):
            wrapped.append((handler, handler.formatter))
            handler.setFormatter(_ScrubbingFormatter(handler.formatter, shown))

    def undo() -> None:
        for handler, formatter in wrapped:
            handler.setFormatter(formatter)

    return undo
