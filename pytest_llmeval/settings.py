"""One read-only Settings built from CLI, ini and environment: the only reader of configuration.

Every option is declared once in ``option_table.py``; its precedence, written down once in
``option_spec.resolve``, is

    command line > environment > marker > ini > default

Each layer applies where it exists: the environment only names the mode (``LLMEVAL_MODE``),
the run id and the step summary; the marker only per-test settings (``samples``,
``judge_model``, budgets), resolved per test from ``markers.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

import pytest

from pytest_llmeval import option_table as table
from pytest_llmeval.ci_environment import CI_MARKERS, checked_run_id, is_ci
from pytest_llmeval.constants import (
    BASELINE_FILE,
    CREDENTIAL_ENV,
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
    PLACEHOLDER_KEY,
    Mode,
)
from pytest_llmeval.option_spec import OptionError, from_flag, from_ini, resolve

if TYPE_CHECKING:
    from pytest_llmeval.option_spec import Sources
    from pytest_llmeval.pricing import Price
    from pytest_llmeval.traffic.model_swap import ModelSwap
    from pytest_llmeval.traffic.scrub import Scrubber

__all__ = [
    "CI_MARKERS",
    "CREDENTIAL_ENV",
    "DEFAULT_CACHE_SIZE",
    "DEFAULT_CACHE_TTL_S",
    "Mode",
    "Settings",
    "is_ci",
]


class Settings:
    """Every setting of a run, read once at configure; read-only (``Final`` to mypy).

    A plain class with ``__slots__`` and a keyword-only ``__init__`` rather than a frozen
    dataclass: every pytest run builds it, and ``@dataclass`` generating and compiling
    ``__init__``, ``__repr__``, ``__eq__`` and ``__hash__`` for its fields at import was the
    biggest part of what the plugin cost a suite without ``llm`` tests (issue 14).
    """

    __slots__ = (
        "_prices",
        "baseline",
        "baseline_file",
        "baseline_window",
        "cache",
        "cache_dir",
        "cache_size",
        "cache_ttl_s",
        "calibration_file",
        "ci",
        "compare_model",
        "drift_cost_rise",
        "drift_latency_rise",
        "drift_score_drop",
        "fail_on_drift",
        "has_credentials",
        "history_dir",
        "judge_model_cli",
        "judge_model_ini",
        "judge_timeout_s",
        "keep_headers",
        "min_kappa",
        "mode",
        "no_history",
        "regrade",
        "report_html",
        "report_json",
        "report_md",
        "require_calibration",
        "rootdir",
        "rubric_threshold",
        "run_id",
        "samples_cli",
        "samples_ini",
        "scrub_env",
        "scrub_headers",
        "step_summary",
    )

    def __init__(
        self,
        *,
        mode: Mode = Mode.AUTO,
        ci: bool = False,
        has_credentials: bool = False,
        scrub_headers: frozenset[str] = frozenset(),
        scrub_env: tuple[str, ...] = (),
        keep_headers: frozenset[str] = frozenset(),
        judge_model_cli: str | None = None,
        judge_model_ini: str | None = None,
        judge_timeout_s: float = DEFAULT_JUDGE_TIMEOUT_S,
        rubric_threshold: float = DEFAULT_RUBRIC_THRESHOLD,
        samples_cli: int | None = None,
        samples_ini: int | None = None,
        cache: bool | None = None,
        cache_dir: Path = Path(DEFAULT_CACHE_DIR),
        cache_ttl_s: float = DEFAULT_CACHE_TTL_S,
        cache_size: int = DEFAULT_CACHE_SIZE,
        history_dir: Path = Path(DEFAULT_HISTORY_DIR),
        no_history: bool = False,
        baseline: str | None = None,
        baseline_file: Path = Path(BASELINE_FILE),
        rootdir: Path = Path(),
        baseline_window: int = DEFAULT_BASELINE_WINDOW,
        drift_score_drop: float = DEFAULT_DRIFT_SCORE_DROP,
        drift_latency_rise: float = DEFAULT_DRIFT_LATENCY_RISE,
        drift_cost_rise: float = DEFAULT_DRIFT_COST_RISE,
        fail_on_drift: bool = False,
        min_kappa: float | None = None,
        require_calibration: bool = False,
        calibration_file: Path = Path(DEFAULT_CALIBRATION_FILE),
        regrade: int = 0,
        report_json: Path | None = None,
        report_html: Path | None = None,
        report_md: Path | None = None,
        step_summary: Path | None = None,
        run_id: str | None = None,
        prices: Mapping[str, Price] | None = None,
        compare_model: ModelSwap | None = None,
    ) -> None:
        self.mode: Final = mode
        self.ci: Final = ci
        self.has_credentials: Final = has_credentials
        #: Extra header names to remove from cassettes, lower-cased (ini ``llmeval_scrub_headers``).
        self.scrub_headers: Final = scrub_headers
        #: Environment variables whose values never reach a cassette (ini ``llmeval_scrub_env``).
        self.scrub_env: Final = scrub_env
        #: Header names written to cassettes beyond the built-in allow-list
        #: (``llmeval_keep_headers``).
        self.keep_headers: Final = keep_headers
        #: ``--llmeval-judge-model``: beats the marker's ``judge_model``.
        self.judge_model_cli: Final = judge_model_cli
        #: ini ``llmeval_judge_model``: the marker's ``judge_model`` beats it.
        self.judge_model_ini: Final = judge_model_ini
        #: ini ``llmeval_judge_timeout``: seconds the judge's client waits, each attempt.
        self.judge_timeout_s: Final = judge_timeout_s
        self.rubric_threshold: Final = rubric_threshold
        #: ``--llmeval-samples``: beats the marker's ``samples``.
        self.samples_cli: Final = samples_cli
        #: ini ``llmeval_samples``: the marker's ``samples`` beats it.
        self.samples_ini: Final = samples_ini
        #: ``--llmeval-cache`` (True) or ``--llmeval-no-cache`` (False); None: by mode.
        self.cache: Final = cache
        self.cache_dir: Final = cache_dir
        self.cache_ttl_s: Final = cache_ttl_s
        self.cache_size: Final = cache_size
        self.history_dir: Final = history_dir
        self.no_history: Final = no_history
        #: None (the pinned baseline file if there is one, else the window), "update", a run id or a
        #: path to a run file.
        self.baseline: Final = baseline
        self.baseline_file: Final = baseline_file
        #: pytest's rootdir: the checkout whose commit and branch a run records.
        self.rootdir: Final = rootdir
        self.baseline_window: Final = baseline_window
        self.drift_score_drop: Final = drift_score_drop
        self.drift_latency_rise: Final = drift_latency_rise
        self.drift_cost_rise: Final = drift_cost_rise
        self.fail_on_drift: Final = fail_on_drift
        #: Kappa a rubric's calibration needs for its ``assert_rubric`` verdicts to count.
        self.min_kappa: Final = min_kappa
        #: Verdicts of rubrics never calibrated (or stale) count as skipped too.
        self.require_calibration: Final = require_calibration
        self.calibration_file: Final = calibration_file
        #: ``--llmeval-regrade``: extra judge asks per grade, to measure judge noise (0: off).
        self.regrade: Final = regrade
        self.report_json: Final = report_json
        self.report_html: Final = report_html
        self.report_md: Final = report_md
        #: ``GITHUB_STEP_SUMMARY``: the Markdown report is appended there too.
        self.step_summary: Final = step_summary
        self.run_id: Final = run_id
        #: Prices from ini ``llmeval_prices`` over the built-in table; ``None``: the built-in
        #: table alone, imported when first read (a plain run never reads it).
        self._prices: Final = prices
        #: ``--llmeval-compare-model CURRENT=CANDIDATE``: each llm test runs for both.
        self.compare_model: Final = compare_model

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Settings):
            return NotImplemented
        return self._values() == other._values()

    def __repr__(self) -> str:
        shown = ", ".join(f"{name.lstrip('_')}={getattr(self, name)!r}" for name in self.__slots__)
        return f"Settings({shown})"

    @property
    def prices(self) -> Mapping[str, Price]:
        """The built-in prices, with ini ``llmeval_prices`` over them."""
        if self._prices is not None:
            return self._prices
        from pytest_llmeval.pricing import DEFAULT_PRICES

        return MappingProxyType(DEFAULT_PRICES)

    def samples(self, marker: int | None) -> int:
        """CLI > marker > ini > 1: a nightly run raises N for every test from the command line."""
        return self.samples_cli or marker or self.samples_ini or DEFAULT_SAMPLES

    def uses_cache(self, mode: Mode, record_mode: str | None) -> bool:
        """On in auto and record, off in rewrite and live unless forced; never when replaying."""
        if record_mode == "none":
            return False
        if self.cache is not None:
            return self.cache
        return mode in (Mode.AUTO, Mode.RECORD)

    def candidate_uses_cache(self) -> bool:
        """The candidate's calls are never recorded: the response cache is what makes a second
        comparison free, so it is on in every mode but live, unless the flags say otherwise."""
        return self.cache if self.cache is not None else self.mode is not Mode.LIVE

    def rerecord_args(self) -> tuple[str, ...]:
        """Options of this run that change what tests ask, for a suggested re-record command."""
        args = []
        if self.samples_cli is not None:
            args.append(f"--llmeval-samples={self.samples_cli}")
        if self.judge_model_cli is not None:
            args.append(f"--llmeval-judge-model={self.judge_model_cli}")
        return tuple(args)

    @property
    def replays_without_key(self) -> bool:
        """No credential and nothing may be recorded: the SDK needs a placeholder to build a
        client at all, from collection on (clients created at import time)."""
        replays = self.mode is Mode.REPLAY or (self.mode is Mode.AUTO and self.ci)
        return replays and not self.has_credentials

    def judge_model(self, marker: str | None) -> str:
        """CLI > marker > ini > ``DEFAULT_JUDGE_MODEL``, a constant of this package."""
        return self.judge_model_cli or marker or self.judge_model_ini or DEFAULT_JUDGE_MODEL

    def scrubber(self, secrets: Iterable[str]) -> Scrubber:
        """A scrubber of ``secrets`` and of the headers this run names or keeps."""
        from pytest_llmeval.traffic.scrub import Scrubber

        return Scrubber(
            extra_headers=self.scrub_headers, secrets=secrets, keep_headers=self.keep_headers
        )

    def secrets(self, environ: Mapping[str, str]) -> tuple[str, ...]:
        """Values that must never be written: credentials and user-named variables.

        A credential shorter than 8 characters is a test placeholder, not a key. A value the
        user named in ``llmeval_scrub_env`` is always scrubbed; one too short to scrub safely
        is refused rather than skipped.
        """
        from pytest_llmeval.traffic.scrub import MIN_SECRET, env_secrets

        found, short = env_secrets(environ, self.scrub_env)
        if short:
            name = short[0]
            raise pytest.UsageError(
                f"llmeval_scrub_env: ${name} is {len(environ[name])} character(s) long; a value "
                f"under {MIN_SECRET} characters would be replaced wherever it occurs (in "
                "words, numbers, JSON), leaving cassettes unreadable. Use a longer secret, "
                "or scrub it precisely with the pytest_llmeval_scrub_interaction hook."
            )
        return found


class _PytestSources:
    """The option sources of a test run: pytest's parsed flags and ini, and the environment."""

    def __init__(self, config: pytest.Config, environ: Mapping[str, str]) -> None:
        self._config = config
        self.environ = environ
        self.rootdir = Path(str(config.rootpath))

    def flag(self, dest: str) -> Any:
        return self._config.getoption(dest, None)

    def flag_from_ini_file(self, flag: str) -> bool:
        """Whether ``flag`` came from the ini file's ``addopts``: typed neither on the command
        line nor in ``PYTEST_ADDOPTS`` (the user's own)."""
        import shlex

        typed = [*self._config.invocation_params.args]
        try:
            typed += shlex.split(self.environ.get("PYTEST_ADDOPTS", ""))
        except ValueError:  # unbalanced quotes: pytest itself would have refused them
            typed.append(self.environ.get("PYTEST_ADDOPTS", ""))
        return not any(arg == flag or arg.startswith(flag + "=") for arg in typed)

    def ini(self, key: str) -> str:
        return str(self._config.getini(key) or "").strip()

    def ini_lines(self, key: str) -> Sequence[str]:
        return [str(line) for line in self._config.getini(key)]


def settings_from(sources: Sources) -> Settings:
    """Settings from any sources, pytest or not; a bad value raises ``OptionError``."""
    environ = sources.environ
    return Settings(
        mode=resolve(table.MODE, sources),
        ci=is_ci(environ),
        # The placeholder is a replaying run's own (``session.py``): a run started inside one
        # (a test of a pytest plugin, with CI unset) has no key for it either.
        has_credentials=any(
            environ.get(name) not in (None, "", PLACEHOLDER_KEY) for name in CREDENTIAL_ENV
        ),
        scrub_headers=resolve(table.SCRUB_HEADERS, sources),
        scrub_env=resolve(table.SCRUB_ENV, sources),
        keep_headers=resolve(table.KEEP_HEADERS, sources),
        judge_model_cli=from_flag(table.JUDGE_MODEL, sources),
        judge_model_ini=from_ini(table.JUDGE_MODEL, sources),
        judge_timeout_s=resolve(table.JUDGE_TIMEOUT, sources),
        rubric_threshold=resolve(table.RUBRIC_THRESHOLD, sources),
        samples_cli=from_flag(table.SAMPLES, sources),
        samples_ini=from_ini(table.SAMPLES, sources),
        prices=resolve(table.PRICES, sources),
        cache=resolve(table.CACHE, sources),
        cache_dir=resolve(table.CACHE_DIR, sources),
        cache_ttl_s=resolve(table.CACHE_TTL, sources),
        cache_size=resolve(table.CACHE_SIZE, sources),
        history_dir=resolve(table.HISTORY_DIR, sources),
        no_history=resolve(table.NO_HISTORY, sources),
        baseline=resolve(table.BASELINE, sources),
        baseline_file=sources.rootdir / BASELINE_FILE,
        rootdir=sources.rootdir,
        baseline_window=resolve(table.BASELINE_WINDOW, sources),
        drift_score_drop=resolve(table.DRIFT_THRESHOLD, sources),
        drift_latency_rise=resolve(table.DRIFT_LATENCY, sources),
        drift_cost_rise=resolve(table.DRIFT_COST, sources),
        fail_on_drift=resolve(table.FAIL_ON_DRIFT, sources),
        min_kappa=resolve(table.MIN_KAPPA, sources),
        require_calibration=resolve(table.REQUIRE_CALIBRATION, sources),
        calibration_file=resolve(table.CALIBRATION_FILE, sources),
        regrade=resolve(table.REGRADE, sources),
        report_json=resolve(table.REPORT_JSON, sources),
        report_html=resolve(table.REPORT_HTML, sources),
        report_md=resolve(table.REPORT_MD, sources),
        step_summary=resolve(table.STEP_SUMMARY, sources),
        run_id=checked_run_id(resolve(table.RUN_ID, sources)),
        compare_model=resolve(table.COMPARE_MODEL, sources),
    )


def build_settings(config: pytest.Config, environ: Mapping[str, str] | None = None) -> Settings:
    try:
        return settings_from(_PytestSources(config, os.environ if environ is None else environ))
    except OptionError as exc:
        raise pytest.UsageError(str(exc)) from None
