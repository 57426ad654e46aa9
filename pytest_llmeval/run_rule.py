"""The drift rule a run decided with, as its history file keeps it, and the rule a command
(``llmeval compare``) judges that run by afterwards.

A run's drift verdicts depend on its thresholds (``llmeval_drift_*`` in the ini,
``--llmeval-drift-threshold``) and on its baseline. The run stores both under ``run.drift_rule``,
so that a command reading the history later reaches the run's verdicts and not others: by
default it uses the stored thresholds. The file came from a pull request, though: a stored
value that no run could have decided with (NaN, negative, a score drop over 1) is refused and
the project's ini used instead; a usable one that differs from the ini is used and said so.
Either way the command prints which rule it used and why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # a run's end stores its rule without importing drift when it has no baseline
    from pytest_llmeval.drift import DriftThresholds

#: Each stored threshold: its ``DriftThresholds`` field, the ini key that sets it, and the
#: largest value the options accept (a score drop is on a 0..1 scale; a rise is relative).
_KEYS: dict[str, tuple[str, float]] = {
    "score_drop": ("llmeval_drift_threshold", 1.0),
    "latency_rise": ("llmeval_drift_latency", math.inf),
    "cost_rise": ("llmeval_drift_cost", math.inf),
}
#: The command's flags that override each one, for the printout.
FLAGS = {
    "score_drop": "--drift-threshold",
    "latency_rise": "--drift-latency",
    "cost_rise": "--drift-cost",
}
RUN, PROJECT = "run", "project"


def stored_rule(
    *, score_drop: float, latency_rise: float, cost_rise: float, baseline_runs: Sequence[str]
) -> dict[str, Any]:
    """``run.drift_rule`` of a run document: the thresholds the run decided with and the ids of
    the runs its baseline was made of (none: it had no baseline)."""
    return {
        "score_drop": score_drop,
        "latency_rise": latency_rise,
        "cost_rise": cost_rise,
        "baseline_runs": list(baseline_runs),
    }


def stored_baseline(rule: Mapping[str, Any] | None) -> tuple[str, ...] | None:
    """The run ids the run's own drift compared with; ``None`` when the file does not say."""
    if rule is None or not isinstance(rule.get("baseline_runs"), list):
        return None
    return tuple(str(run_id) for run_id in rule["baseline_runs"])


@dataclass(frozen=True)
class ChosenRule:
    """The thresholds a command judges with, where each came from, and what it should say."""

    thresholds: DriftThresholds
    #: ``"run"``: the run's stored rule; ``"project"``: the ini (the run stored none, or none
    #: usable). Flags given on the command line override either, key by key.
    source: str
    overridden: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            **{key: getattr(self.thresholds, key) for key in _KEYS},
            "source": self.source,
            "overridden": list(self.overridden),
            "notes": list(self.notes),
        }


def _problem(key: str, value: Any) -> str | None:
    """Why a stored threshold cannot be trusted; ``None`` for one a run could have used."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{value!r} is not a number"
    if not math.isfinite(value):
        return f"{value!r} is not finite"
    if value < 0:
        return f"{value!r} is negative"
    if value > _KEYS[key][1]:
        return f"{value!r} is over {_KEYS[key][1]:g}"
    return None


def choose_rule(
    run_id: str,
    stored: Mapping[str, Any] | None,
    project: DriftThresholds,
    overrides: Mapping[str, float],
    *,
    use_project: bool = False,
) -> ChosenRule:
    """The thresholds to judge run ``run_id`` by: its ``stored`` rule where it holds a usable
    one (unless ``use_project``), else the ``project``'s; then each of ``overrides`` (a key of
    :class:`DriftThresholds` to the value given on the command line)."""
    notes: list[str] = []
    chosen: dict[str, float] = {}
    source = RUN
    if use_project:
        source = PROJECT
        notes.append("thresholds: the project's ini, as asked (--project-thresholds)")
    elif stored is None:
        source = PROJECT
        notes.append(
            f"run {run_id} kept no drift rule (a file from before it was stored): judged by "
            "the project's ini thresholds, which may not be the ones it ran with"
        )
    else:
        refused = {
            key: why
            for key in _KEYS
            if (why := _problem(key, stored.get(key))) is not None and key not in overrides
        }
        if refused:
            # One bad value makes the whole stored rule suspect: the ini, not a mix.
            source = PROJECT
            said = "; ".join(f"{_KEYS[k][0]} {why}" for k, why in refused.items())
            notes.append(
                f"run {run_id}'s stored drift rule is refused ({said}): judged by the "
                "project's ini thresholds instead"
            )
        else:
            chosen = {key: float(stored[key]) for key in _KEYS if key not in overrides}
            differ = [
                f"{_KEYS[k][0]} {v:g} (the ini says {getattr(project, k):g})"
                for k, v in chosen.items()
                if v != getattr(project, k)
            ]
            if differ:
                notes.append(
                    f"run {run_id} was judged with {', '.join(differ)}: its own thresholds "
                    "are used here (--project-thresholds for the ini's)"
                )
    thresholds = replace(project, **chosen) if source == RUN else project
    thresholds = replace(thresholds, **dict(overrides))
    for key, value in overrides.items():
        notes.append(f"{_KEYS[key][0]} {value:g} from the command line ({FLAGS[key]})")
    return ChosenRule(thresholds, source, tuple(k for k in _KEYS if k in overrides), tuple(notes))
