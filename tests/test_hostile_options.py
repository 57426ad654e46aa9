"""Option and ini values a typo or a pull request could set: each is a usage error that quotes
the value and says what is expected, before any test runs; never a run of hours, an overflow
at the run's end, or a threshold that every comparison passes."""

from __future__ import annotations

import sys

import pytest
from test_option_table import _Given

from pytest_llmeval.option_spec import OptionError, resolve
from pytest_llmeval.option_table import OPTIONS

BY_INI = {option.ini: option for option in OPTIONS if option.ini}


@pytest.mark.parametrize(
    ("key", "text", "problem"),
    [
        # Found here: 100,000 samples replayed for 72 s (a miss each) and 10**7 for hours;
        # a window of 10**23 runs was an OverflowError at the run's end.
        ("llmeval_samples", "100000", "'100000' is more than 10,000"),
        ("llmeval_samples", "1" + "0" * 20, "'100000000000000000000' is more than 10,000"),
        # An infinite drift threshold was taken: no drift was ever flagged, silently.
        ("llmeval_drift_threshold", "inf", "'inf' is not a finite number >= 0"),
        ("llmeval_drift_latency", "inf", "'inf' is not a finite number >= 0"),
        # Already refused: kept so that they stay so.
        ("llmeval_samples", "0", "'0' is not a whole number >= 1"),
        ("llmeval_samples", "-1", "'-1' is not a whole number >= 1"),
        ("llmeval_samples", "nan", "'nan' is not a whole number >= 1"),
        ("llmeval_drift_threshold", "nan", "'nan' is not a finite number >= 0"),
        ("llmeval_drift_threshold", "-1", "'-1' is not a finite number >= 0"),
        ("llmeval_min_kappa", "nan", "'nan' is not a number >= 0 and <= 1"),
        ("llmeval_min_kappa", "5", "'5' is not a number >= 0 and <= 1"),
        ("llmeval_regrade", "-1", "'-1' is not a whole number >= 0"),
        ("llmeval_rubric_threshold", "nan", "'nan' is not a number >= 0 and <= 1"),
        ("llmeval_cache_ttl", "nan", "'nan' is not a duration such as 14d, 12h, 30m or 3600"),
        ("llmeval_cache_ttl", "-5s", "'-5s' is not a duration such as 14d, 12h, 30m or 3600"),
        ("llmeval_cache_size", "-1", "'-1' is not a size such as 512MB, 1GB or 1000000"),
    ],
)
def test_a_hostile_ini_value_is_a_usage_error(key, text, problem):
    with pytest.raises(OptionError) as caught:
        resolve(BY_INI[key], _Given(ini={key: text}))
    message = str(caught.value)
    assert message.startswith("ini ") and key in message.partition(":")[0], message
    assert message.endswith(problem), message


def test_the_flag_says_the_same(pytester):
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmeval-baseline-window=" + "9" * 23)
    assert result.ret == 4
    result.stderr.fnmatch_lines(
        ["*argument --llmeval-baseline-window: '99999999999999999999999' is more than 10,000"]
    )
    assert "Traceback" not in result.stderr.str()


def test_the_largest_count_is_taken(pytester):
    pytester.makeini("[pytest]\nllmeval_samples = 10000\nllmeval_baseline_window = 10000\n")
    pytester.runpytest("-p", "no:cacheprovider", "--co").assert_outcomes()


NO_HOME = """
import pwd, sys
import sys

import pytest

def no_entry(uid):
    raise KeyError(f"getpwuid(): uid not found: {uid}")

pwd.getpwuid = no_entry  # a container's uid with no /etc/passwd entry
sys.exit(pytest.main(["-p", "no:cacheprovider", "--llmeval-history-dir=~/runs"]))
"""


def test_a_tilde_path_with_no_home_is_a_usage_error(pytester, monkeypatch):
    monkeypatch.delenv("HOME", raising=False)
    pytester.makepyfile(test_app="def test_plain():\n    pass\n")
    script = pytester.makepyfile(no_home=NO_HOME)
    result = pytester.run(sys.executable, str(script))
    assert result.ret == 4
    result.stderr.fnmatch_lines(
        [
            "*argument --llmeval-history-dir: '~/runs' starts with ~, but this process has no "
            "home directory (HOME is unset): give the path in full"
        ]
    )
    assert "Traceback" not in result.stderr.str()
