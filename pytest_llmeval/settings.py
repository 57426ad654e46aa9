"""One frozen Settings built from CLI, ini and environment: the only reader of configuration.

Precedence, written down once, for every setting:

    command line > environment > marker > ini > default

Each layer applies where it exists: the environment only names the mode (``LLMEVAL_MODE``),
the run id and the step summary; the marker only per-test settings (``samples``,
``judge_model``, budgets), resolved per test from ``markers.py``.
"""

from __future__ import annotations

import argparse
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pytest_llmeval.constants import (
    CREDENTIAL_ENV,
    DEFAULT_CACHE_SIZE,
    DEFAULT_CACHE_TTL_S,
    DEFAULT_JUDGE_MODEL,
    Mode,
)
from pytest_llmeval.pricing import DEFAULT_PRICES, Price, parse_price_line

__all__ = ["CREDENTIAL_ENV", "DEFAULT_CACHE_SIZE", "DEFAULT_CACHE_TTL_S", "Mode", "Settings"]

ENV_MODE = "LLMEVAL_MODE"
DEFAULT_CACHE_DIR = ".llmeval/cache"
DEFAULT_HISTORY_DIR = ".llmeval/history"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_SIZE_UNITS = {"": 1, "b": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30}


def parse_mode(value: str, *, where: str = "--llmeval-mode") -> Mode:
    """A mode from text; a clear usage error naming where the bad value came from."""
    try:
        return Mode(value.strip().lower())
    except ValueError:
        choices = ", ".join(m.value for m in Mode)
        raise pytest.UsageError(
            f"{where}: unknown mode {value!r}; choose one of: {choices}"
        ) from None


def positive_int(value: str) -> int:
    """argparse ``type=`` for ``--llmeval-samples``."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number >= 1")
    return number


def resolve_dir(cli: str | None, ini: str, default: str, rootdir: Path) -> Path:
    """A directory setting, for the plugin and the ``llmeval`` command alike: the command
    line's value is relative to where the command runs, the ini's to the rootdir."""
    if cli:
        return Path(cli).expanduser()
    return rootdir / (ini.strip() or default)


def is_ci(environ: Mapping[str, str]) -> bool:
    """``CI`` set to anything but an explicit no (GitHub, GitLab and others set ``CI=true``)."""
    value = environ.get("CI", "").strip().lower()
    return value not in ("", "0", "false", "no", "off")


@dataclass(frozen=True)
class Settings:
    mode: Mode = Mode.AUTO
    ci: bool = False
    has_credentials: bool = False
    #: Extra header names to remove from cassettes, lower-cased (ini ``llmeval_scrub_headers``).
    scrub_headers: frozenset[str] = field(default_factory=frozenset)
    #: Environment variables whose values never reach a cassette (ini ``llmeval_scrub_env``).
    scrub_env: tuple[str, ...] = ()
    #: Header names written to cassettes beyond the built-in allow-list (``llmeval_keep_headers``).
    keep_headers: frozenset[str] = field(default_factory=frozenset)
    #: ``--llmeval-judge-model``: beats the marker's ``judge_model``.
    judge_model_cli: str | None = None
    #: ini ``llmeval_judge_model``: the marker's ``judge_model`` beats it.
    judge_model_ini: str | None = None
    rubric_threshold: float = 0.7
    #: ``--llmeval-samples``: beats the marker's ``samples``.
    samples_cli: int | None = None
    #: ini ``llmeval_samples``: the marker's ``samples`` beats it.
    samples_ini: int | None = None
    #: ``--llmeval-cache`` (True) or ``--llmeval-no-cache`` (False); None: by mode.
    cache: bool | None = None
    cache_dir: Path = Path(".llmeval/cache")
    cache_ttl_s: float = 14 * 24 * 3600
    cache_size: int = 1 << 30
    history_dir: Path = Path(".llmeval/history")
    no_history: bool = False
    #: None (the pinned baseline file if there is one, else the window), "update", a run id
    #: or a path to a run file.
    baseline: str | None = None
    baseline_file: Path = Path(".llmeval/baseline.json")
    baseline_window: int = 5
    drift_score_drop: float = 0.1
    drift_latency_rise: float = 0.25
    drift_cost_rise: float = 0.25
    fail_on_drift: bool = False
    report_json: Path | None = None
    report_html: Path | None = None
    report_md: Path | None = None
    #: ``GITHUB_STEP_SUMMARY``: the Markdown report is appended there too.
    step_summary: Path | None = None
    run_id: str | None = None
    #: Prices from ini ``llmeval_prices`` over the built-in table.
    prices: Mapping[str, Price] = field(default_factory=lambda: dict(DEFAULT_PRICES))

    def samples(self, marker: int | None) -> int:
        """CLI > marker > ini > 1: a nightly run raises N for every test from the command line."""
        return self.samples_cli or marker or self.samples_ini or 1

    def uses_cache(self, mode: Mode, record_mode: str | None) -> bool:
        """On in auto and record, off in rewrite and live unless forced; never when replaying."""
        if record_mode == "none":
            return False
        if self.cache is not None:
            return self.cache
        return mode in (Mode.AUTO, Mode.RECORD)

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

    def secrets(self, environ: Mapping[str, str]) -> tuple[str, ...]:
        """Values that must never be written: credentials and user-named variables.

        A credential shorter than 8 characters is a test placeholder, not a key. A value the
        user named in ``llmeval_scrub_env`` is always scrubbed; one too short to scrub safely
        is refused rather than skipped.
        """
        from pytest_llmeval.traffic.scrub import MIN_SECRET

        found = [v for v in (environ.get(n, "") for n in CREDENTIAL_ENV) if len(v) >= 8]
        for name in self.scrub_env:
            value = environ.get(name, "")
            if 0 < len(value) < MIN_SECRET:
                raise pytest.UsageError(
                    f"llmeval_scrub_env: ${name} is {len(value)} character(s) long; a value "
                    f"under {MIN_SECRET} characters would be replaced wherever it occurs (in "
                    "words, numbers, JSON), leaving cassettes unreadable. Use a longer secret, "
                    "or scrub it precisely with the pytest_llmeval_scrub_interaction hook."
                )
            if value:
                found.append(value)
        return tuple(found)


def _resolve_mode(config: pytest.Config, environ: Mapping[str, str]) -> Mode:
    cli: Mode | None = config.getoption("llmeval_mode", None)
    if cli is not None:
        return cli
    env = environ.get(ENV_MODE, "").strip()
    if env:
        return parse_mode(env, where=ENV_MODE)
    ini = str(config.getini("llmeval_mode") or "").strip()
    if ini:
        return parse_mode(ini, where="ini llmeval_mode")
    return Mode.AUTO


def _threshold(config: pytest.Config) -> float:
    return _ini_float(config, "llmeval_rubric_threshold", 0.7, maximum=1.0)


def _ini_samples(config: pytest.Config) -> int | None:
    raw = str(config.getini("llmeval_samples") or "").strip()
    if not raw:
        return None
    try:
        return positive_int(raw)
    except argparse.ArgumentTypeError as exc:
        raise pytest.UsageError(f"ini llmeval_samples: {exc}") from None


def _prices(config: pytest.Config) -> dict[str, Price]:
    prices = dict(DEFAULT_PRICES)
    for line in config.getini("llmeval_prices"):
        if line.strip():
            try:
                model, price = parse_price_line(line)
            except ValueError as exc:
                raise pytest.UsageError(str(exc)) from None
            prices[model] = price
    return prices


def parse_duration(text: str) -> float:
    """``14d``, ``12h``, ``30m``, ``90s`` or plain seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text.lower())
    if not match:
        raise ValueError(f"{text!r} is not a duration such as 14d, 12h, 30m or 3600")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def parse_size(text: str) -> int:
    """``512MB``, ``1GB`` or plain bytes."""
    match = re.fullmatch(r"\s*(\d+)\s*([kmg]?b?)\s*", text.lower())
    if not match:
        raise ValueError(f"{text!r} is not a size such as 512MB, 1GB or 1000000")
    return int(match.group(1)) * _SIZE_UNITS[match.group(2)]


def _cache_fields(config: pytest.Config) -> dict[str, Any]:
    directory = resolve_dir(
        config.getoption("llmeval_cache_dir", None),
        str(config.getini("llmeval_cache_dir") or ""),
        DEFAULT_CACHE_DIR,
        Path(str(config.rootpath)),
    )
    try:
        ttl = str(config.getini("llmeval_cache_ttl") or "").strip()
        size = str(config.getini("llmeval_cache_size") or "").strip()
        return {
            "cache": config.getoption("llmeval_cache", None),
            "cache_dir": directory,
            "cache_ttl_s": parse_duration(ttl) if ttl else DEFAULT_CACHE_TTL_S,
            "cache_size": parse_size(size) if size else DEFAULT_CACHE_SIZE,
        }
    except ValueError as exc:
        raise pytest.UsageError(f"ini llmeval_cache_ttl / llmeval_cache_size: {exc}") from None


def _ini_float(
    config: pytest.Config, name: str, default: float, *, maximum: float = math.inf
) -> float:
    """A number >= 0 (and <= ``maximum``) from ini, or a usage error naming the key."""
    raw = str(config.getini(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= maximum:
        limit = f" and <= {maximum:g}" if maximum != math.inf else ""
        raise pytest.UsageError(f"ini {name}: {raw!r} is not a number >= 0{limit}")
    return value


def _report_path(config: pytest.Config, kind: str) -> Path | None:
    """The command line's path is relative to where pytest runs; the ini's to the rootdir."""
    cli = config.getoption(f"llmeval_report_{kind}", None)
    if cli:
        return Path(cli)
    ini = str(config.getini(f"llmeval_report_{kind}") or "").strip()
    return Path(str(config.rootpath)) / ini if ini else None


def _report_fields(config: pytest.Config, environ: Mapping[str, str]) -> dict[str, Any]:
    root = Path(str(config.rootpath))
    threshold = config.getoption("llmeval_drift_threshold", None)
    report_json = _report_path(config, "json")
    report_html = _report_path(config, "html")
    report_md = _report_path(config, "md")
    step_summary = environ.get("GITHUB_STEP_SUMMARY", "").strip()
    return {
        "history_dir": resolve_dir(
            config.getoption("llmeval_history_dir", None),
            str(config.getini("llmeval_history_dir") or ""),
            DEFAULT_HISTORY_DIR,
            root,
        ),
        "no_history": bool(config.getoption("llmeval_no_history", False)),
        "baseline": config.getoption("llmeval_baseline", None),
        "baseline_file": root / ".llmeval" / "baseline.json",
        "baseline_window": config.getoption("llmeval_baseline_window", None) or 5,
        "drift_score_drop": threshold
        if threshold is not None
        else _ini_float(config, "llmeval_drift_threshold", 0.1),
        "drift_latency_rise": _ini_float(config, "llmeval_drift_latency", 0.25),
        "drift_cost_rise": _ini_float(config, "llmeval_drift_cost", 0.25),
        "fail_on_drift": bool(config.getoption("llmeval_fail_on_drift", False)),
        "report_json": report_json,
        "report_html": report_html,
        "report_md": report_md,
        "step_summary": Path(step_summary) if step_summary else None,
        "run_id": environ.get("LLMEVAL_RUN_ID", "").strip() or None,
    }


def build_settings(config: pytest.Config, environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    mode = _resolve_mode(config, env)
    headers = config.getini("llmeval_scrub_headers")
    return Settings(
        mode=mode,
        ci=is_ci(env),
        has_credentials=any(env.get(name) for name in CREDENTIAL_ENV),
        scrub_headers=frozenset(h.strip().lower() for h in headers if h.strip()),
        scrub_env=tuple(n.strip() for n in config.getini("llmeval_scrub_env") if n.strip()),
        keep_headers=frozenset(
            h.strip().lower() for h in config.getini("llmeval_keep_headers") if h.strip()
        ),
        judge_model_cli=(config.getoption("llmeval_judge_model", None) or "").strip() or None,
        judge_model_ini=str(config.getini("llmeval_judge_model") or "").strip() or None,
        rubric_threshold=_threshold(config),
        samples_cli=config.getoption("llmeval_samples", None),
        samples_ini=_ini_samples(config),
        prices=_prices(config),
        **_cache_fields(config),
        **_report_fields(config, env),
    )
