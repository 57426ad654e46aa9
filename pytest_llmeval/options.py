"""The ``--llmeval-*`` options and ``llmeval_*`` ini keys, declared to pytest from the table.

``option_table.py`` holds every setting once; this only tells pytest's parser about them, with
``type=`` parsers that reject a bad value before any test runs. ``settings.py`` reads them.
"""

from __future__ import annotations

import pytest

from pytest_llmeval.option_spec import flag_arguments
from pytest_llmeval.option_table import OPTIONS


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("llmeval", "LLM regression tests (pytest-llmeval)")
    for option in OPTIONS:
        if option.flag is not None:
            group.addoption(option.flag, **flag_arguments(option))
        if option.off_flag is not None:
            group.addoption(
                option.off_flag, dest=option.dest, action="store_false", help=option.off_help
            )
    for option in OPTIONS:
        if option.ini is None:
            continue
        if option.ini_type == "linelist":
            parser.addini(option.ini, option.ini_help, type="linelist", default=[])
        else:
            parser.addini(option.ini, option.ini_help)
