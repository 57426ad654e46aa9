"""Every setting of pytest-llmeval, declared once: flag, ini key, env var, parser, default, help.

Three consumers read this table (as pytest-benchmark's ``add_*_options`` serve its plugin and
its CLI): ``options.py`` declares the flags and ini keys to pytest, ``settings.py`` builds
``Settings`` with ``option_spec.resolve``, and the ``llmeval`` command declares its
``--history-dir`` and ``--cache-dir`` from the same entries and resolves them the same way.
The marker sits between the command line and the ini for ``samples`` and ``judge_model``, so
``Settings`` keeps those as two values, read with ``from_flag`` and ``from_ini``.

Defaults live in ``constants.py``. Importing this imports neither pytest nor the SDK: the
``llmeval`` command declares its options without paying for pytest. Nor does it import the
price table or the model swap: a pytest run declares every option, and a plain one reads none.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_llmeval import option_values as parse
from pytest_llmeval.constants import (
    BASELINE_FILE,
    DEFAULT_BASELINE_WINDOW,
    DEFAULT_CACHE_DIR,
    DEFAULT_CACHE_SIZE,
    DEFAULT_CACHE_TTL_S,
    DEFAULT_CALIBRATION_FILE,
    DEFAULT_DRIFT_COST_RISE,
    DEFAULT_DRIFT_LATENCY_RISE,
    DEFAULT_DRIFT_SCORE_DROP,
    DEFAULT_HISTORY_DIR,
    DEFAULT_JUDGE_MODEL,
    DEFAULT_JUDGE_TIMEOUT_S,
    DEFAULT_RUBRIC_THRESHOLD,
    DEFAULT_SAMPLES,
    ENV_MODE,
    ENV_RUN_ID,
    ENV_STEP_SUMMARY,
    Mode,
)
from pytest_llmeval.option_spec import Option

if TYPE_CHECKING:
    from pytest_llmeval.pricing import Price
    from pytest_llmeval.traffic.model_swap import ModelSwap


def _report(kind: str, what: str, help_text: str) -> Option[Path | None]:
    return Option(
        dest=f"llmeval_report_{kind}",
        default=None,
        flag=f"--llmeval-report-{kind}",
        metavar="PATH",
        help=help_text,
        ini=f"llmeval_report_{kind}",
        ini_help=f"Write the {what} report here, relative to the rootdir",
        parse=Path,
        flag_type=parse.path_or_none,
        under_rootdir=True,
    )


# In the order pytest --help lists them: the flags in the option group, the ini keys below.
MODE = Option(
    dest="llmeval_mode",
    default=Mode.AUTO,
    flag="--llmeval-mode",
    metavar="MODE",
    help="How model calls are answered: auto (default), replay, record, rewrite or live; "
    f"env {ENV_MODE}",
    env=ENV_MODE,
    ini="llmeval_mode",
    ini_help="Default mode for llm tests (auto, replay, record, rewrite, live)",
    parse=parse.parse_mode,
)
JUDGE_MODEL = Option(
    dest="llmeval_judge_model",
    default=DEFAULT_JUDGE_MODEL,
    flag="--llmeval-judge-model",
    metavar="MODEL",
    help="Model that grades rubrics; beats the marker's judge_model and the ini value",
    ini="llmeval_judge_model",
    ini_help="Model that grades rubrics (default: newest Sonnet)",
    parse=parse.text,
    flag_type=parse.text_or_none,
)
JUDGE_TIMEOUT: Option[float] = Option(
    dest="llmeval_judge_timeout",
    default=DEFAULT_JUDGE_TIMEOUT_S,
    ini="llmeval_judge_timeout",
    ini_help="How long the judge's client waits for an answer, each attempt: "
    f"{DEFAULT_JUDGE_TIMEOUT_S:g} (default), 90s, 5m",
    parse=parse.timeout,
)
RUBRIC_THRESHOLD = Option(
    dest="llmeval_rubric_threshold",
    default=DEFAULT_RUBRIC_THRESHOLD,
    ini="llmeval_rubric_threshold",
    ini_help="Score in [0, 1] a rubric needs when no threshold is given "
    f"(default {DEFAULT_RUBRIC_THRESHOLD:g})",
    parse=parse.score,
)
SAMPLES = Option(
    dest="llmeval_samples",
    default=DEFAULT_SAMPLES,
    flag="--llmeval-samples",
    metavar="N",
    help="Run every llm test N times; beats the marker's samples and the ini value",
    ini="llmeval_samples",
    ini_help=f"Samples per llm test when the marker does not say ({DEFAULT_SAMPLES})",
    parse=parse.count,
)
HISTORY_DIR = Option(
    dest="llmeval_history_dir",
    default=Path(DEFAULT_HISTORY_DIR),
    flag="--llmeval-history-dir",
    metavar="DIR",
    help=f"Where run files are kept (default: {DEFAULT_HISTORY_DIR} under the rootdir)",
    ini="llmeval_history_dir",
    ini_help="Where run files are kept, relative to the rootdir",
    parse=Path,
    flag_type=parse.user_path_or_none,
    under_rootdir=True,
    command_flag="--history-dir",
    command_help="History directory",
)
NO_HISTORY = Option(
    dest="llmeval_no_history",
    default=False,
    flag="--llmeval-no-history",
    action="store_true",
    help="Do not write this run to the history",
)
#: ``None`` (the pinned baseline file if there is one, else the window), "update", a run id or
#: a path to a run file; given empty, the window even when a baseline file is pinned.
BASELINE: Option[str | None] = Option(
    dest="llmeval_baseline",
    default=None,
    flag="--llmeval-baseline",
    metavar="RUN_ID|PATH|update",
    help=f"Compare with this run or run file; 'update' pins this run as {BASELINE_FILE}",
)
BASELINE_WINDOW = Option(
    dest="llmeval_baseline_window",
    default=DEFAULT_BASELINE_WINDOW,
    flag="--llmeval-baseline-window",
    metavar="N",
    help="Earlier runs of the same mode that make the baseline "
    f"(default {DEFAULT_BASELINE_WINDOW})",
    parse=parse.count,
)
DRIFT_THRESHOLD = Option(
    dest="llmeval_drift_threshold",
    default=DEFAULT_DRIFT_SCORE_DROP,
    flag="--llmeval-drift-threshold",
    metavar="DROP",
    help="A fall of a score or pass rate beyond this is drift "
    f"(default {DEFAULT_DRIFT_SCORE_DROP:g})",
    ini="llmeval_drift_threshold",
    ini_help="A fall of a score or pass rate beyond this is drift",
    parse=parse.non_negative,
    flag_type=parse.between_0_and_1,
)
DRIFT_LATENCY = Option(
    dest="llmeval_drift_latency",
    default=DEFAULT_DRIFT_LATENCY_RISE,
    ini="llmeval_drift_latency",
    ini_help=f"A relative rise of latency beyond this is drift ({DEFAULT_DRIFT_LATENCY_RISE:g})",
    parse=parse.non_negative,
)
DRIFT_COST = Option(
    dest="llmeval_drift_cost",
    default=DEFAULT_DRIFT_COST_RISE,
    ini="llmeval_drift_cost",
    ini_help=f"A relative rise of cost beyond this is drift ({DEFAULT_DRIFT_COST_RISE:g})",
    parse=parse.non_negative,
)
FAIL_ON_DRIFT = Option(
    dest="llmeval_fail_on_drift",
    default=False,
    flag="--llmeval-fail-on-drift",
    action="store_true",
    help="Exit non-zero when drift is flagged, even if every test passed",
)
#: The agreement (Cohen's kappa) a rubric's calibration needs for its verdicts to count.
MIN_KAPPA: Option[float | None] = Option(
    dest="llmeval_min_kappa",
    default=None,
    flag="--llmeval-min-kappa",
    metavar="KAPPA",
    help="An assert_rubric verdict counts as skipped when its rubric's calibration is below "
    "this kappa",
    ini="llmeval_min_kappa",
    ini_help="Kappa a rubric's calibration needs for its assert_rubric verdicts to count",
    parse=parse.score,
    flag_type=parse.between_0_and_1,
)
REQUIRE_CALIBRATION = Option(
    dest="llmeval_require_calibration",
    default=False,
    flag="--llmeval-require-calibration",
    action="store_true",
    help="Count the assert_rubric verdicts of a rubric never calibrated, or whose calibration "
    "is stale, as skipped",
)
CALIBRATION_FILE = Option(
    dest="llmeval_calibration_file",
    default=Path(DEFAULT_CALIBRATION_FILE),
    ini="llmeval_calibration_file",
    ini_help="Where calibrations are kept, relative to the rootdir",
    parse=Path,
    under_rootdir=True,
)
#: ``--llmeval-regrade=K``: ask the judge K more times per grade to measure its noise (0: off).
REGRADE = Option(
    dest="llmeval_regrade",
    default=0,
    flag="--llmeval-regrade",
    metavar="K",
    help="Ask the judge K more times about every graded output (live or cached, never from "
    "the cassette) and report its flip rate and score spread per rubric; 0 (default) is off",
    ini="llmeval_regrade",
    ini_help="Extra judge asks per grade to measure judge noise (default 0: off)",
    parse=parse.parse_regrade,
)
REPORT_JSON = _report(
    "json", "JSON", "Write the run as JSON (schema: pytest_llmeval/report_schema.json)"
)
REPORT_HTML = _report(
    "html", "HTML", "Write a self-contained HTML report with charts over the history"
)
REPORT_MD = _report(
    "md", "Markdown", "Write the run as Markdown (also appended to GITHUB_STEP_SUMMARY when set)"
)
#: ``--llmeval-cache`` (True) or ``--llmeval-no-cache`` (False); ``None``: by mode.
CACHE: Option[bool | None] = Option(
    dest="llmeval_cache",
    default=None,
    flag="--llmeval-cache",
    action="store_true",
    help="Answer repeated requests from the local response cache (default in auto and record)",
    off_flag="--llmeval-no-cache",
    off_help="Never use the response cache (default in rewrite and live)",
)
CACHE_DIR = Option(
    dest="llmeval_cache_dir",
    default=Path(DEFAULT_CACHE_DIR),
    flag="--llmeval-cache-dir",
    metavar="DIR",
    help=f"Response cache directory (default: {DEFAULT_CACHE_DIR} under the rootdir)",
    ini="llmeval_cache_dir",
    ini_help="Response cache directory, relative to the rootdir",
    parse=Path,
    flag_type=parse.user_path_or_none,
    under_rootdir=True,
    command_flag="--cache-dir",
    command_help="Cache directory",
)
#: One message for both today: a bad value names both keys.
_CACHE_LIMIT_ERROR = "ini llmeval_cache_ttl / llmeval_cache_size: {error}"
CACHE_TTL: Option[float] = Option(
    dest="llmeval_cache_ttl",
    default=DEFAULT_CACHE_TTL_S,
    ini="llmeval_cache_ttl",
    ini_help="How long cached responses live: 14d (default), 12h, 3600",
    parse=parse.parse_duration,
    ini_error=_CACHE_LIMIT_ERROR,
)
CACHE_SIZE = Option(
    dest="llmeval_cache_size",
    default=DEFAULT_CACHE_SIZE,
    ini="llmeval_cache_size",
    ini_help="Response cache size limit: 1GB (default), 512MB",
    parse=parse.parse_size,
    ini_error=_CACHE_LIMIT_ERROR,
)
#: ``None``: the built-in table alone (``Settings.prices`` reads it when a run prices a call).
PRICES: Option[Mapping[str, Price] | None] = Option(
    dest="llmeval_prices",
    default=None,
    ini="llmeval_prices",
    ini_help="Model prices, one per line: 'model = input output cache_write cache_read' "
    "in USD per million tokens",
    parse_lines=parse.prices,
    # parse_price_line's message names the key already.
    ini_error="{error}",
)
SCRUB_HEADERS: Option[frozenset[str]] = Option(
    dest="llmeval_scrub_headers",
    default=frozenset(),
    ini="llmeval_scrub_headers",
    ini_help="Extra request or response header names never written to cassettes",
    parse_lines=parse.header_names,
)
KEEP_HEADERS: Option[frozenset[str]] = Option(
    dest="llmeval_keep_headers",
    default=frozenset(),
    ini="llmeval_keep_headers",
    ini_help="Extra request or response header names written to cassettes (the rest are dropped)",
    parse_lines=parse.header_names,
)
#: Checked when the values are read (``Settings.secrets``): a value too short is refused.
SCRUB_ENV: Option[tuple[str, ...]] = Option(
    dest="llmeval_scrub_env",
    default=(),
    ini="llmeval_scrub_env",
    ini_help="Environment variables whose values are replaced in cassettes wherever they appear",
    parse_lines=parse.names,
)
#: Shards of one CI run share a run id, and so one history entry.
RUN_ID: Option[str | None] = Option(
    dest="llmeval_run_id", default=None, env=ENV_RUN_ID, parse=parse.text
)
#: GitHub's job summary file: the Markdown report is appended there too.
STEP_SUMMARY: Option[Path | None] = Option(
    dest="llmeval_step_summary", default=None, env=ENV_STEP_SUMMARY, parse=Path
)

#: Each llm test runs for CURRENT (as the mode says) and again with CANDIDATE in its place.
COMPARE_MODEL: Option[ModelSwap | None] = Option(
    dest="llmeval_compare_model",
    default=None,
    flag="--llmeval-compare-model",
    metavar="CURRENT=CANDIDATE",
    help="Run each llm test again with the app's requests for model CURRENT sent to "
    "CANDIDATE (live or cached, never recorded); report paired verdicts and cost and "
    "latency deltas",
    parse=parse.parse_model_swap,
)

OPTIONS: tuple[Option[Any], ...] = (
    MODE,
    JUDGE_MODEL,
    JUDGE_TIMEOUT,
    RUBRIC_THRESHOLD,
    SAMPLES,
    HISTORY_DIR,
    NO_HISTORY,
    BASELINE,
    BASELINE_WINDOW,
    DRIFT_THRESHOLD,
    DRIFT_LATENCY,
    DRIFT_COST,
    FAIL_ON_DRIFT,
    MIN_KAPPA,
    REQUIRE_CALIBRATION,
    CALIBRATION_FILE,
    REGRADE,
    REPORT_JSON,
    REPORT_HTML,
    REPORT_MD,
    CACHE,
    CACHE_DIR,
    CACHE_TTL,
    CACHE_SIZE,
    PRICES,
    SCRUB_HEADERS,
    KEEP_HEADERS,
    SCRUB_ENV,
    RUN_ID,
    STEP_SUMMARY,
    COMPARE_MODEL,
)
