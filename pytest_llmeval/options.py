"""The ``--llmeval-*`` options and ``llmeval_*`` ini keys, declared for pytest's parser.

``settings.py`` reads them (the only reader); this module only declares them, with ``type=``
parsers that reject a bad value before any test runs.
"""

from __future__ import annotations

import argparse
import math

import pytest

from pytest_llmeval.constants import Mode
from pytest_llmeval.settings import parse_mode, positive_int


def _unit_interval(value: str) -> float:
    """argparse ``type=`` for a number in [0, 1]."""
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number between 0 and 1")
    return number


def _mode_argument(value: str) -> Mode:
    """argparse ``type=``: rejects a bad mode before any test runs."""
    try:
        return parse_mode(value)
    except pytest.UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc).split(": ", 1)[1]) from None


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("llmeval", "LLM regression tests (pytest-llmeval)")
    group.addoption(
        "--llmeval-mode",
        dest="llmeval_mode",
        type=_mode_argument,
        default=None,
        metavar="MODE",
        help="How model calls are answered: auto (default), replay, record, rewrite or live; "
        "env LLMEVAL_MODE",
    )
    group.addoption(
        "--llmeval-judge-model",
        dest="llmeval_judge_model",
        default=None,
        metavar="MODEL",
        help="Model that grades rubrics; beats the marker's judge_model and the ini value",
    )
    group.addoption(
        "--llmeval-samples",
        dest="llmeval_samples",
        type=positive_int,
        default=None,
        metavar="N",
        help="Run every llm test N times; beats the marker's samples and the ini value",
    )
    group.addoption(
        "--llmeval-history-dir",
        dest="llmeval_history_dir",
        default=None,
        metavar="DIR",
        help="Where run files are kept (default: .llmeval/history under the rootdir)",
    )
    group.addoption(
        "--llmeval-no-history",
        dest="llmeval_no_history",
        action="store_true",
        default=False,
        help="Do not write this run to the history",
    )
    group.addoption(
        "--llmeval-baseline",
        dest="llmeval_baseline",
        default=None,
        metavar="RUN_ID|PATH|update",
        help="Compare with this run or run file; 'update' pins this run as .llmeval/baseline.json",
    )
    group.addoption(
        "--llmeval-baseline-window",
        dest="llmeval_baseline_window",
        type=positive_int,
        default=None,
        metavar="N",
        help="Earlier runs of the same mode that make the baseline (default 5)",
    )
    group.addoption(
        "--llmeval-drift-threshold",
        dest="llmeval_drift_threshold",
        type=_unit_interval,
        default=None,
        metavar="DROP",
        help="A fall of a score or pass rate beyond this is drift (default 0.1)",
    )
    group.addoption(
        "--llmeval-fail-on-drift",
        dest="llmeval_fail_on_drift",
        action="store_true",
        default=False,
        help="Exit non-zero when drift is flagged, even if every test passed",
    )
    group.addoption(
        "--llmeval-report-json",
        dest="llmeval_report_json",
        default=None,
        metavar="PATH",
        help="Write the run as JSON (schema: pytest_llmeval/report_schema.json)",
    )
    group.addoption(
        "--llmeval-report-html",
        dest="llmeval_report_html",
        default=None,
        metavar="PATH",
        help="Write a self-contained HTML report with charts over the history",
    )
    group.addoption(
        "--llmeval-report-md",
        dest="llmeval_report_md",
        default=None,
        metavar="PATH",
        help="Write the run as Markdown (also appended to GITHUB_STEP_SUMMARY when set)",
    )
    for kind, what in (("json", "JSON"), ("html", "HTML"), ("md", "Markdown")):
        parser.addini(
            f"llmeval_report_{kind}", f"Write the {what} report here, relative to the rootdir"
        )
    parser.addini("llmeval_history_dir", "Where run files are kept, relative to the rootdir")
    parser.addini("llmeval_drift_threshold", "A fall of a score or pass rate beyond this is drift")
    parser.addini("llmeval_drift_latency", "A relative rise of latency beyond this is drift (0.25)")
    parser.addini("llmeval_drift_cost", "A relative rise of cost beyond this is drift (0.25)")
    parser.addini("llmeval_samples", "Samples per llm test when the marker does not say (1)")
    group.addoption(
        "--llmeval-cache",
        dest="llmeval_cache",
        action="store_true",
        default=None,
        help="Answer repeated requests from the local response cache (default in auto and record)",
    )
    group.addoption(
        "--llmeval-no-cache",
        dest="llmeval_cache",
        action="store_false",
        help="Never use the response cache (default in rewrite and live)",
    )
    group.addoption(
        "--llmeval-cache-dir",
        dest="llmeval_cache_dir",
        default=None,
        metavar="DIR",
        help="Response cache directory (default: .llmeval/cache under the rootdir)",
    )
    parser.addini("llmeval_cache_dir", "Response cache directory, relative to the rootdir")
    parser.addini("llmeval_cache_ttl", "How long cached responses live: 14d (default), 12h, 3600")
    parser.addini("llmeval_cache_size", "Response cache size limit: 1GB (default), 512MB")
    parser.addini("llmeval_judge_model", "Model that grades rubrics (default: newest Sonnet)")
    parser.addini(
        "llmeval_rubric_threshold",
        "Score in [0, 1] a rubric needs when no threshold is given (default 0.7)",
    )
    parser.addini(
        "llmeval_prices",
        "Model prices, one per line: 'model = input output cache_write cache_read' "
        "in USD per million tokens",
        type="linelist",
        default=[],
    )
    parser.addini(
        "llmeval_mode", "Default mode for llm tests (auto, replay, record, rewrite, live)"
    )
    parser.addini(
        "llmeval_scrub_headers",
        "Extra request or response header names never written to cassettes",
        type="linelist",
        default=[],
    )
    parser.addini(
        "llmeval_keep_headers",
        "Extra request or response header names written to cassettes (the rest are dropped)",
        type="linelist",
        default=[],
    )
    parser.addini(
        "llmeval_scrub_env",
        "Environment variables whose values are replaced in cassettes wherever they appear",
        type="linelist",
        default=[],
    )
