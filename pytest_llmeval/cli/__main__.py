"""``python -m pytest_llmeval.cli``: the ``llmeval`` command where scripts are not installed."""

from __future__ import annotations

import sys

from pytest_llmeval.cli import main

sys.exit(main())
