"""``llmeval calibrate LABELS.jsonl``: does the judge agree with the team's own labels?

The command runs pytest in-process on the labels file itself: a plugin collects the file as one
``llm`` test, ``LABELS.jsonl::calibrate``, whose body is ``llmeval.calibrate``. So the judge's
calls go through everything a test's calls go through: the mode, a cassette beside the labels
(``cassettes/<labels stem>/calibrate.yaml``, as a test module's would be), the response cache,
scrubbing, the project's ini and conftest hooks. Re-running it in CI replays at no cost, and the
run's end saves the result to the calibration file, as it does for a calibration in a suite.

Exit status: 0 calibrated (and at or above ``--min-kappa``), 1 a rubric below ``--min-kappa``,
2 a bad option, 3 the calibration could not run (pytest says why above), 4 a labels file that
cannot be used (the message names its line).
"""

from __future__ import annotations

import argparse
import ast
import functools
import json
import os
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_llmeval.option_spec import argument_type
from pytest_llmeval.option_values import between_0_and_1, parse_mode

if TYPE_CHECKING:
    import pytest

    from pytest_llmeval.calibration import Calibration
    from pytest_llmeval.fixture import LlmEval

EXIT_BELOW = 1
EXIT_USAGE = 2
EXIT_NOT_RUN = 3
EXIT_LABELS = 4

DESCRIPTION = """\
Grade the labelled outputs of LABELS with the judge, as a test would, and report per rubric
its agreement with the humans: accuracy, Cohen's kappa with its 95% CI, the confusion table
and the outputs it gets wrong."""

EPILOG = """\
Each line of LABELS is a JSON object: {"output": "...", "rubric": "NAME or text",
"human": "pass" | "fail" | true | false | score in [0, 1], "input": "...", "reference": "...",
"id": "..."}. A rubric NAME needs its text: --rubric NAME=TEXT, --rubric NAME=@FILE (the file's
text), or --rubric NAME=@FILE.py::CONSTANT (a string constant of a Python file, read without
running it), so the text is the one the tests grade with.

The judge's calls are recorded in cassettes/<labels stem>/calibrate.yaml beside LABELS and
replayed from there; the result is kept in ini llmeval_calibration_file
(.llmeval/calibration.json), where assert_rubric looks it up (ini llmeval_min_kappa).

Exit status: 0 calibrated, 1 a rubric below --min-kappa, 2 a bad option, 3 the calibration
could not run (pytest's report says why), 4 LABELS cannot be used (names the line).
"""


class RubricOptionError(ValueError):
    """A ``--rubric`` that cannot be read."""


def python_constant(path: Path, name: str) -> str:
    """The string assigned to ``name`` at the top of a Python file, read without running it."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, UnicodeDecodeError, SyntaxError) as exc:
        raise RubricOptionError(f"cannot read {path} ({exc})") from None
    for node in tree.body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            value = getattr(node, "value", None)
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                return value.value
            raise RubricOptionError(
                f"{path}:{node.lineno}: {name} is not a plain string constant (an f-string or "
                "an expression cannot be read without running the file); put the rubric in a "
                "text file and use --rubric NAME=@FILE"
            )
    raise RubricOptionError(f"{path}: no top-level {name} = '...'")


def rubric_option(spec: str) -> tuple[str, str]:
    """``NAME=TEXT``, ``NAME=@FILE`` or ``NAME=@FILE.py::CONSTANT`` -> (name, text)."""
    name, equals, value = spec.partition("=")
    if not equals or not name.strip() or not value:
        raise RubricOptionError(
            f"--rubric {spec!r}: expected NAME=TEXT, NAME=@FILE or NAME=@FILE.py::CONSTANT"
        )
    if not value.startswith("@"):
        return name.strip(), value
    file, _, constant = value[1:].partition("::")
    if constant:
        return name.strip(), python_constant(Path(file), constant)
    try:
        return name.strip(), Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RubricOptionError(f"--rubric {name}: cannot read {file} ({exc})") from None


class CalibrationPlugin:
    """Collects the labels file as the one test of the run, and keeps what it measured."""

    def __init__(self, args: argparse.Namespace, labels: Path, rubrics: dict[str, str]) -> None:
        self.args = args
        self.labels = labels
        self.rubrics = rubrics
        self.rootdir = Path.cwd()
        self.result: Calibration | None = None

    def pytest_configure(self, config: pytest.Config) -> None:
        self.rootdir = config.rootpath

    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector) -> Any:
        if file_path.resolve() != self.labels:
            return None
        labels_file = _labels_file_class().from_parent(parent, path=file_path)
        labels_file.plugin = self
        return labels_file

    def run(self, llmeval: LlmEval) -> None:
        __tracebackhide__ = True
        self.result = llmeval._calibrate(
            self.labels,
            self.rubrics,
            threshold=self.args.threshold,
            rerun=rerun_command(self.args, self.rootdir),
        )


@functools.cache
def _labels_file_class() -> Any:
    """Built on first use: ``llmeval --help`` must not pay for importing pytest."""
    import pytest

    class LabelsFile(pytest.File):
        """The labels file as a test module with one test, ``calibrate``."""

        plugin: CalibrationPlugin

        def collect(self) -> Iterator[pytest.Item]:
            plugin = self.plugin

            @pytest.mark.llm
            def calibrate(llmeval: LlmEval) -> None:
                __tracebackhide__ = True
                plugin.run(llmeval)

            item = pytest.Function.from_parent(self, name="calibrate", callobj=calibrate)
            # A cassette miss says to re-run this command, not pytest on the labels file.
            item.llmeval_rerun_command = (  # type: ignore[attr-defined]
                rerun_command(plugin.args, plugin.rootdir) + " --mode={mode}"
            )
            yield item

    return LabelsFile


def pytest_args(args: argparse.Namespace, labels: Path) -> list[str]:
    """One test run, on the labels file only, that leaves no history entry and no report.

    The ini's ``addopts`` are dropped: ``-n 4`` there would hand the one test to an xdist
    worker, where this process's plugin does not exist.
    """
    argv = [
        str(labels),
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=",
        # pytest-recording's autouse fixture asks for a module-scoped one, which a labels
        # file (not a Python module) cannot give: an internal error. Its cassettes are not
        # this run's anyway.
        "-p",
        "no:recording",
        "--llmeval-no-history",
    ]
    for kind in ("json", "html", "md"):
        argv += ["-o", f"llmeval_report_{kind}="]
    if args.judge_model:
        argv.append(f"--llmeval-judge-model={args.judge_model}")
    if args.mode:
        argv.append(f"--llmeval-mode={args.mode.value}")
    cache_dir = getattr(args, "llmeval_cache_dir", None)
    if cache_dir is not None:
        argv.append(f"--llmeval-cache-dir={cache_dir}")
    return argv


def _from_root(path: str, rootdir: Path) -> str:
    absolute = Path(path).resolve()
    root = rootdir.resolve()
    return absolute.relative_to(root).as_posix() if absolute.is_relative_to(root) else path


def rerun_command(args: argparse.Namespace, rootdir: Path) -> str:
    """This command as it is run from the rootdir: what the calibration file tells a later run
    to re-run when the rubric's calibration is stale or too low."""
    words = ["llmeval", "calibrate", _from_root(args.labels, rootdir)]
    for spec in args.rubric:
        name, _, value = spec.partition("=")
        if value.startswith("@"):
            file, colons, constant = value[1:].partition("::")
            value = f"@{_from_root(file, rootdir)}{colons}{constant}"
        words.append(f"--rubric={name}={value}")
    if args.judge_model:
        words.append(f"--judge-model={args.judge_model}")
    if args.threshold is not None:
        words.append(f"--threshold={args.threshold:g}")
    return shlex.join(words)


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Grade LABELS with the judge and report its agreement with the humans, per rubric."""
    from pytest_llmeval.calibration_labels import LabelsError, load_labels
    from pytest_llmeval.cli.project import secret_free, shown

    try:
        rubrics = dict(rubric_option(spec) for spec in args.rubric)
    except RubricOptionError as exc:
        print(f"llmeval calibrate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    labels = Path(args.labels)
    try:
        # Checked before pytest starts: a typo in line 12 is said in one line, not a traceback.
        load_labels(labels, rubrics)
    except LabelsError as exc:
        print(f"llmeval calibrate: {exc}", file=sys.stderr)
        return EXIT_LABELS
    import pytest

    plugin = CalibrationPlugin(args, labels.resolve(), rubrics)
    # The step summary belongs to the suite's run in CI, not to this command's.
    summary = os.environ.pop("GITHUB_STEP_SUMMARY", None)
    try:
        code = pytest.main(pytest_args(args, labels), plugins=[plugin])
    finally:
        if summary is not None:
            os.environ["GITHUB_STEP_SUMMARY"] = summary
    result = plugin.result
    if result is None:
        print(
            f"\nllmeval calibrate: {shown(labels)} was not calibrated (pytest exit status "
            f"{int(code)}); pytest's report above says why",
            file=sys.stderr,
        )
        return EXIT_NOT_RUN
    # The judge's reasoning is quoted: it may echo a secret the labelled output held.
    scrub = secret_free()
    if args.json:
        document = {"labels": result.labels, "rubrics": [r.to_json() for r in result]}
        print(scrub(json.dumps(document)))
    else:
        print()
        print(scrub(result.render(min_kappa=args.min_kappa)))
    sys.stdout.flush()  # the verdict below comes after the figures, on a terminal too
    if code != 0:
        return EXIT_NOT_RUN
    if args.min_kappa is not None and result.below(args.min_kappa):
        names = ", ".join(r.rubric_name for r in result.below(args.min_kappa))
        print(
            f"llmeval calibrate: below --min-kappa {args.min_kappa:g}: {names}",
            file=sys.stderr,
        )
        return EXIT_BELOW
    return 0


def add_commands(commands: Any) -> None:
    calibrate = commands.add_parser(
        "calibrate",
        help="Measure the judge's agreement with human labels (accuracy, Cohen's kappa)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    calibrate.add_argument("labels", metavar="LABELS.jsonl", help="The labelled outputs")
    calibrate.add_argument(
        "--rubric",
        action="append",
        default=[],
        metavar="NAME=TEXT|@FILE|@FILE.py::CONSTANT",
        help="The text of a rubric the labels name (repeat for each)",
    )
    calibrate.add_argument(
        "--judge-model", metavar="MODEL", help="Judge to calibrate (default: as the tests')"
    )
    calibrate.add_argument(
        "--threshold",
        type=argument_type(between_0_and_1),
        metavar="SCORE",
        help="Score at which a verdict passes (default: ini llmeval_rubric_threshold)",
    )
    calibrate.add_argument(
        "--min-kappa",
        type=argument_type(between_0_and_1),
        metavar="KAPPA",
        help="Exit 1 when a rubric's kappa is below this",
    )
    calibrate.add_argument(
        "--mode",
        type=argument_type(parse_mode),
        metavar="MODE",
        help="As --llmeval-mode (default: LLMEVAL_MODE, ini llmeval_mode, else auto)",
    )
    calibrate.add_argument("--json", action="store_true", help="The result as JSON on stdout")
    calibrate.set_defaults(handler=cmd_calibrate)
