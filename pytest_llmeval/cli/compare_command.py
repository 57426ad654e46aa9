"""``llmeval compare RUN_A RUN_B``: RUN_B's drift against RUN_A, by the rule RUN_B ran with.

The run stored the thresholds it decided with (``run_rule.py``): they are the default here, so
that comparing a run with its own baseline gives the verdicts it printed. The project's ini
(``--project-thresholds``) or a flag per threshold override them, and the printout says so;
a stored rule no run could have used is refused, and that is said too. Where RUN_A is RUN_B's
own baseline, any check whose verdict here differs from the one RUN_B stored (a custom
``pytest_llmeval_drift`` rule, which a command cannot run, or an edited file) is named.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from pytest_llmeval import option_values as parse
from pytest_llmeval.cli.history_commands import MODE_HELP, print_json, terminal_text
from pytest_llmeval.cli.project import dir_options, history_dir, project, secret_free, shown
from pytest_llmeval.constants import Mode
from pytest_llmeval.option_spec import argument_type
from pytest_llmeval.report.table import aligned

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    from pytest_llmeval.drift import DriftCheck, DriftThresholds
    from pytest_llmeval.history import Listing
    from pytest_llmeval.results import RunResult
    from pytest_llmeval.run_rule import ChosenRule

COMPARE_JSON = """\
With --json, one JSON document on stdout instead of the table (same exit codes):
  {"run_a": str|null, "run_b": str, "baseline_runs": [str], "flagged": int,
   "statuses": {status: int},
   "rule": {"score_drop", "latency_rise", "cost_rise": float, "source": "run"|"project",
     "overridden": [str], "notes": [str]},
   "tests": [{"nodeid": str, "drift": [{"metric", "baseline", "current", "delta",
     "flagged", "ci", "history", "status", "interval", "samples_needed", "method"}]}]}
"drift" entries as in the JSON report; baseline is RUN_A (or, with one run given, the runs
of its own baseline, and "run_a" is null), current is RUN_B; "flagged"
counts the regressed ones. The thresholds are those RUN_B ran with (its history file keeps
them), else the project's (llmeval_drift_* in its ini); "notes" says which and why.
"""

#: How many disagreements with RUN_B's own verdicts are named one by one.
_SHOWN_DISAGREEMENTS = 10


def _project_thresholds(args: argparse.Namespace) -> DriftThresholds:
    """The margins a test run in this project would use now: its ini, else the defaults."""
    from pytest_llmeval import option_table as table
    from pytest_llmeval.cli.project import CommandSources
    from pytest_llmeval.drift import DriftThresholds
    from pytest_llmeval.option_spec import resolve

    # The command's own flags have other names than pytest's: these are the ini's values.
    sources = CommandSources(args)
    return DriftThresholds(
        score_drop=resolve(table.DRIFT_THRESHOLD, sources),
        latency_rise=resolve(table.DRIFT_LATENCY, sources),
        cost_rise=resolve(table.DRIFT_COST, sources),
    )


#: The thresholds the command line overrides: flag, ``DriftThresholds`` field (the flag's
#: dest), the value's check, metavar and meaning.
_OVERRIDES = (
    ("--drift-threshold", "score_drop", parse.between_0_and_1, "DROP",
     "A fall of a score or pass rate beyond this is drift"),
    ("--drift-latency", "latency_rise", parse.non_negative, "RISE",
     "A relative rise of latency beyond this is drift"),
    ("--drift-cost", "cost_rise", parse.non_negative, "RISE",
     "A relative rise of cost beyond this is drift"),
)  # fmt: skip


def _overrides(args: argparse.Namespace) -> dict[str, float]:
    """The thresholds given on the command line, by ``DriftThresholds`` field."""
    given = {field: getattr(args, field) for _, field, _, _, _ in _OVERRIDES}
    return {key: value for key, value in given.items() if value is not None}


def _rule(args: argparse.Namespace, run: RunResult) -> ChosenRule:
    from pytest_llmeval.run_rule import choose_rule

    return choose_rule(
        run.id,
        run.drift_rule,
        _project_thresholds(args),
        _overrides(args),
        use_project=args.project_thresholds,
    )


def _shard_rules_refused(args: argparse.Namespace, run: RunResult) -> str | None:
    """Why ``run``'s drift cannot be judged again by its own rule: its shards judged with
    different thresholds. ``None`` when they agree, or the command line chose every one they
    differ on (``--project-thresholds``, or a flag for each).

    One of them for every test would re-judge the others' tests by a rule they never had, and
    a merged run does not know which shard ran which test (a shard run again may have run it
    twice): the honest choice is the user's, named here."""
    from pytest_llmeval.run_rule import FLAGS
    from pytest_llmeval.run_shards import rule_text, shard_values_text

    rules = (run.shards_differ or {}).get("drift_rule")
    if rules is None or args.project_thresholds:
        return None
    kept = {key: [r.get(key) if isinstance(r, dict) else None for r in rules] for key in FLAGS}
    differ = [key for key, values in kept.items() if any(v != values[0] for v in values)]
    left = [key for key in differ if key not in _overrides(args)]
    if not left:
        return None
    said = shard_values_text("thresholds", [rule_text(r) for r in rules])
    flags = ", ".join(FLAGS[key] for key in left)
    return (
        f"run {run.id}'s shards judged drift with different thresholds ({said}): no one of "
        f"them is the run's. Choose with {flags} (or --project-thresholds for the ini's)"
    )


def _shard_baselines(run: RunResult) -> str | None:
    """Each shard's baseline runs, when the shards of ``run`` compared with different ones."""
    from pytest_llmeval.run_shards import shard_values_text

    rules = (run.shards_differ or {}).get("drift_rule")
    if rules is None:
        return None
    kept = [r.get("baseline_runs") if isinstance(r, dict) else None for r in rules]
    if all(k == kept[0] for k in kept[1:]):
        return None
    listed = [
        (", ".join(map(str, k)) or "no baseline") if isinstance(k, list) else "not kept"
        for k in kept
    ]
    return shard_values_text("baseline runs", listed)


def _baseline_notes(
    baseline: tuple[str, ...],
    run_b: RunResult,
    checks: Mapping[str, Sequence[DriftCheck]],
    rule: ChosenRule,
    scrub: Callable[[str], str],
) -> list[str]:
    """Whether RUN_A is RUN_B's own baseline, and where RUN_B's stored verdicts differ."""
    from pytest_llmeval.drift_rules import custom_note
    from pytest_llmeval.run_rule import RUN, stored_baseline

    if run_b.drift_failed:
        failed = ", and failed on it (--llmeval-fail-on-drift)" if run_b.fail_on_drift else ""
        return [
            f"run {run_b.id} could not check its own drift{failed}: it has no verdicts of its "
            "own to agree with; these are the built-in rule's"
        ]
    own = stored_baseline(run_b.drift_rule)
    if own is None and (shard_baselines := _shard_baselines(run_b)) is not None:
        return [
            f"run {run_b.id}'s shards compared with different baselines ({shard_baselines}): "
            "verdicts here can differ from its report"
        ]
    if own is None:
        return []
    if own != baseline:
        against = f"runs {', '.join(own)}" if own else "no baseline"
        return [
            f"run {run_b.id}'s own drift was against {against}, not {_runs(baseline)}: "
            "verdicts here can differ from its report"
        ]
    if rule.source != RUN or rule.overridden:
        return []  # another rule was asked for: other verdicts are the point
    stored = {(c.nodeid, c.metric): c for t in run_b.tests for c in t.drift}
    notes = []
    for test_checks in checks.values():
        for check in test_checks:
            before = stored.get((check.nodeid, check.metric))
            if before is None or before.verdict == check.verdict:
                continue
            custom = custom_note(before.method)
            why = f" by {custom.split(':')[0]}, which this command cannot run" if custom else ""
            notes.append(
                f"{scrub(check.nodeid)} {check.metric}: run {run_b.id} said "
                f"{before.verdict}{why}; judged again here: {check.verdict}"
            )
    if len(notes) > _SHOWN_DISAGREEMENTS:
        more = len(notes) - _SHOWN_DISAGREEMENTS
        notes = [*notes[:_SHOWN_DISAGREEMENTS], f"and {more} more verdict(s) differ"]
    return notes


def _pinned_file() -> Path:
    """The project's pinned baseline, as a test run finds it (``--llmeval-baseline=update``)."""
    from pytest_llmeval.constants import BASELINE_FILE

    return project().rootdir / BASELINE_FILE


def _pinned_run(run_id: str, mode: str) -> RunResult | None:
    """The pinned baseline, when it holds run ``run_id`` of ``mode``: a run compared with the
    pinned file compared with a run the history may not have (a history kept as a CI artifact
    and gone, the baseline committed)."""
    from pytest_llmeval import history

    return history.load_run_of(_pinned_file(), run_id, mode)


def _own(ids: Sequence[str]) -> str:
    return f"its own baseline, {_runs(ids).removesuffix(' alone')}"


def _runs(ids: Sequence[str]) -> str:
    return f"run {ids[0]} alone" if len(ids) == 1 else f"runs {', '.join(ids)}"


def _status_cell(check: DriftCheck) -> str:
    """``REGRESSED``, ``improved``, ``unchanged``, ``inconclusive (~16 samples a side)``."""
    from pytest_llmeval.report.drift_text import needed_text

    needed = needed_text(check).removesuffix(" would settle it").split(":")[0]
    status = check.verdict.upper() if check.flagged else check.verdict
    return f"{status} ({needed})" if needed else status


def _figures(check: DriftCheck) -> tuple[str, str, str, str]:
    """Baseline, "->", current and change, as the run's own drift lines print them."""
    from pytest_llmeval.report.drift_text import check_figures

    baseline, current, change = check_figures(check)
    return baseline, "->", current, change


def _rule_line(rule: ChosenRule, run_b: str) -> str:
    from pytest_llmeval.run_rule import RUN

    t = rule.thresholds
    whose = f"run {run_b}'s" if rule.source == RUN else "the project's"
    if rule.overridden:
        whose += " and the command line's"
    return (
        f"thresholds ({whose}): score drop {t.score_drop:g}, latency rise {t.latency_rise:g}, "
        f"cost rise {t.cost_rise:g}"
    )


def cmd_compare(args: argparse.Namespace) -> int:
    """Drift verdicts of RUN_B against RUN_A, every metric; exit 1 when anything regressed."""
    from pytest_llmeval import history
    from pytest_llmeval.run_shards import ShardsDisagree

    directory = history_dir(args)
    files = history.Listing(directory)  # listed once for every run
    try:
        return _compare(args, directory, files)
    except ShardsDisagree as exc:
        print(terminal_text(str(exc)), file=sys.stderr)
        return 2


def _compare(args: argparse.Namespace, directory: Path, files: Listing) -> int:
    from pytest_llmeval import history
    from pytest_llmeval.drift import compare, flagged, status_counts
    from pytest_llmeval.run_rule import stored_baseline

    run_b = history.find_run(files, args.run_b or args.run_a, mode=args.mode)
    if run_b is None:
        said = f"no readable run {args.run_b or args.run_a} in {shown(directory)}"
        print(terminal_text(said), file=sys.stderr)
        return 2
    notes: list[str] = []
    if args.run_b is None:  # one run: against the baseline it ran with
        ids = stored_baseline(run_b.drift_rule)
        if ids is None and (shard_baselines := _shard_baselines(run_b)) is not None:
            said = (
                f"run {run_b.id}'s shards compared with different baselines ({shard_baselines}): "
                "name the run to compare it with"
            )
            print(terminal_text(said), file=sys.stderr)
            return 2
        if not ids:
            why = "had no baseline" if ids == () else "kept no baseline (an older file)"
            said = f"run {run_b.id} {why}: name the run to compare it with"
            print(terminal_text(said), file=sys.stderr)
            return 2
    else:
        ids = (args.run_a,)
    baseline = []
    ids = tuple(dict.fromkeys(ids))  # a file's list, each run once
    # Of a baseline run id used in several modes, the files of RUN_B's: what its window read.
    readable = history.find_runs(files, ids, mode=args.mode if args.run_b else run_b.mode)
    for run_id in ids:
        found = readable[run_id]
        if found is None and args.run_b is not None:
            print(terminal_text(f"no readable run {run_id} in {shown(directory)}"), file=sys.stderr)
            return 2
        if found is None and (pinned := _pinned_run(run_id, run_b.mode)) is not None:
            found = pinned
            notes.append(
                f"run {run_id} of its baseline is not in the history: read from the pinned "
                f"baseline {shown(_pinned_file())}, which holds that run"
            )
        if found is None:
            notes.append(f"run {run_id} of its baseline is not readable here: left out")
        else:
            baseline.append(found)
    if not baseline:
        said = f"no run of run {run_b.id}'s baseline is readable in {shown(directory)}"
        print(terminal_text(said), file=sys.stderr)
        return 2
    compared_with = tuple(run.id for run in baseline)
    refused = _shard_rules_refused(args, run_b)
    if refused is not None:
        print(terminal_text(refused), file=sys.stderr)
        return 2
    rule = _rule(args, run_b)
    checks = compare(run_b.tests, [run.tests for run in baseline], rule.thresholds)
    drifted = flagged(checks)
    # A node id shows a parameter's value: a history file may hold one that is a secret.
    scrub = secret_free()
    notes = [*rule.notes, *notes, *_baseline_notes(compared_with, run_b, checks, rule, scrub)]
    counts = status_counts(c for test_checks in checks.values() for c in test_checks)
    if args.json:
        document: dict[str, Any] = {
            "run_a": args.run_a if args.run_b is not None else None,
            "run_b": run_b.id,
            "baseline_runs": list(compared_with),
            "flagged": len(drifted),
            "statuses": counts,
            "rule": {**rule.to_json(), "notes": notes},
            "tests": [
                {"nodeid": scrub(nodeid), "drift": [c.to_json() for c in test_checks]}
                for nodeid, test_checks in checks.items()
            ],
        }
        print_json(document)
        return 1 if drifted else 0
    # One table for every test, so columns line up across the whole listing.
    rows: list[list[str]] = []
    for nodeid, test_checks in checks.items():
        rows.append([scrub(nodeid)])
        rows += [[_status_cell(c), c.metric, *_figures(c)] for c in test_checks]
    # A node id is as wide as a row: it stands on its own line, outside the columns.
    lines = iter(aligned([r for r in rows if len(r) > 1], right=frozenset({2, 4, 5})))
    for row in rows:
        print(terminal_text(row[0] if len(row) == 1 else f"  {next(lines)}"))
    # What the verdicts were reached by, next to the count they add up to.
    print(terminal_text(_rule_line(rule, run_b.id)))
    for note in notes:
        print(terminal_text(f"note: {note}"))
    said = ", ".join(f"{n} {status}" for status, n in counts.items()) or "nothing compared"
    print(
        f"{sum(map(len, checks.values()))} metric(s) of {len(checks)} test(s) compared: "
        f"{said} ({run_b.id} against {args.run_a if args.run_b else _own(compared_with)})"
    )
    return 1 if drifted else 0


def add_compare(commands: Any) -> None:
    """``compare`` on the top-level sub-command action."""
    compare = commands.add_parser(
        "compare",
        parents=[dir_options("history")],
        help="Drift verdicts of RUN_B against RUN_A",
        description="Every metric of RUN_B against RUN_A (or, given one run, of it against "
        "the baseline it ran with: the verdicts it printed): regressed, improved, unchanged or "
        "inconclusive; exit 1 when anything regressed, 2 when a run cannot be read.\n\n"
        + COMPARE_JSON,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    compare.add_argument(
        "run_a", metavar="RUN_A", help="The baseline run; alone, the run to check against its own"
    )
    compare.add_argument("run_b", metavar="RUN_B", nargs="?", help="The run to check")
    compare.add_argument("--json", action="store_true", help="A JSON document on stdout")
    compare.add_argument("--mode", choices=[m.value for m in Mode], help=MODE_HELP)
    compare.add_argument(
        "--project-thresholds",
        action="store_true",
        help="Judge by the project's ini thresholds now, not those RUN_B ran with",
    )
    for flag, field, check, metavar, meaning in _OVERRIDES:
        compare.add_argument(
            flag,
            dest=field,
            type=argument_type(check),
            metavar=metavar,
            help=f"{meaning} (overrides the run's)",
        )
    compare.set_defaults(handler=cmd_compare)
