"""What every benchmark shares: pytest subprocesses timed, A/B runs alternated, figures printed.

Every figure is a ratio of runs of A and B taken alternately (A B, then B A, ...) in the same
sitting, so a busy spell on a shared machine hits both sides alike; the median, min and max of
each side are printed with the ratio, the target and whether it is met.
"""

from __future__ import annotations

import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
API_KEY = "bench-key-0123456789"


@dataclass(frozen=True)
class Timing:
    #: Wall time of the whole process, start-up included.
    wall: float
    #: User + system CPU time of the process (``RUSAGE_CHILDREN`` before and after).
    cpu: float
    stdout: str
    stderr: str = ""


def run(cmd: Sequence[str], cwd: Path, env: dict[str, str], ok: Sequence[int] = (0,)) -> Timing:
    """One subprocess, timed; an exit code not in ``ok`` stops the benchmark with its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(list(cmd), cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode not in ok:
        raise SystemExit(f"failed in {cwd}: {' '.join(cmd)}\n{done.stdout[-3000:]}{done.stderr}")
    return Timing(wall, cpu, done.stdout, done.stderr)


def pytest(cwd: Path, args: Sequence[str], env: dict[str, str]) -> Timing:
    return run([*PYTEST, *args], cwd, env)


def instructions(cwd: Path, args: Sequence[str], env: dict[str, str]) -> int | None:
    """Instructions a pytest process executes, counted by callgrind: unlike a time, the same
    on a busy machine as on a quiet one (``None`` when valgrind is not installed).

    ``PYTHONHASHSEED`` is fixed, so set and dict orders, and with them the count, repeat."""
    if shutil.which("valgrind") is None:
        return None
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *PYTEST, *args]
    done = run(cmd, cwd, {**env, "PYTHONHASHSEED": "0"})
    found = re.search(r"Collected\s*:\s*(\d+)", done.stdout + done.stderr)
    if found is None:
        raise SystemExit(f"no instruction count from callgrind in {cwd}")
    return int(found.group(1))


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without what would change a run's mode, plus ``extra``."""
    drop = ("CI", "LLMEVAL_MODE", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


def alternate(
    rounds: int, a: Callable[[], float], b: Callable[[], float]
) -> tuple[list[float], list[float]]:
    """A and B ``rounds`` times each, in the order A B, B A, A B ..., so drift cancels."""
    times = interleave(rounds, {"a": a, "b": b})
    return times["a"], times["b"]


def interleave(rounds: int, runs: dict[str, Callable[[], float]]) -> dict[str, list[float]]:
    """Each run once per round, in the given order, then reversed, and so on."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for i in range(rounds):
        order = list(runs) if i % 2 == 0 else list(reversed(runs))
        for name in order:
            times[name].append(runs[name]())
    return times


@dataclass
class Figure:
    """One printed figure: A against B (or against an absolute target when B is empty)."""

    title: str
    a_label: str
    a: list[float]
    b_label: str = ""
    b: list[float] = field(default_factory=list)
    #: The figures are multiplied by this for printing (1000 for ms) and named so.
    scale: float = 1.0
    unit: str = "s"
    #: ``"<="``, ``"<"`` or ``">="``, and the limit the ratio (or, with no B, the A median) is
    #: held to.
    op: str = "<="
    limit: float = 1.0
    #: Also required, when set: A's median below this many seconds (unscaled).
    ceiling: float | None = None
    #: Said when the target is missed and the reason is known.
    why_missed: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        median_a = statistics.median(self.a)
        return median_a / statistics.median(self.b) if self.b else median_a

    @property
    def met(self) -> bool:
        if self.ceiling is not None and statistics.median(self.a) >= self.ceiling:
            return False
        if self.op == "<":
            return self.ratio < self.limit
        if self.op == ">=":
            return self.ratio >= self.limit
        return self.ratio <= self.limit

    def lines(self) -> list[str]:
        out = [self.title]
        width = max(len(self.a_label), len(self.b_label))
        for label, values in ((self.a_label, self.a), (self.b_label, self.b)):
            if values:
                out.append(f"    {label:<{width}}  {_spread(values, self.scale, self.unit)}")
        if self.b:
            pairs = [x / y for x, y in zip(self.a, self.b, strict=True) if y]
            what = (
                f"ratio A/B {self.ratio:.3f} (per pair {min(pairs):.3f}..{max(pairs):.3f}, "
                f"median {statistics.median(pairs):.3f})"
                if pairs
                else f"ratio A/B {self.ratio:.3f}"
            )
        else:
            what = f"A median {self.ratio * self.scale:.3g} {self.unit}"
        limit = f"{self.limit:g}" if self.b else f"{self.limit * self.scale:g} {self.unit}"
        if self.ceiling is not None:
            limit += f" and A < {self.ceiling * self.scale:g} {self.unit}"
        verdict = (
            "met" if self.met else "MISSED" + (f": {self.why_missed}" if self.why_missed else "")
        )
        out.append(f"    {what}  target {self.op} {limit}  {verdict}")
        out.extend(f"    {note}" for note in self.notes)
        return out


def counted_figure(
    title: str, a: tuple[str, int], b: tuple[str, int], *, limit: float, why_missed: str
) -> Figure:
    """A against B in instructions (one count each: it repeats), printed in billions."""
    return Figure(
        title,
        a[0],
        [float(a[1])],
        b[0],
        [float(b[1])],
        scale=1e-9,
        unit="G instr",
        limit=limit,
        why_missed=why_missed,
    )


def _spread(values: list[float], scale: float, unit: str) -> str:
    def show(x: float) -> str:
        return f"{x * scale:8.3f}" if x * scale < 100 else f"{x * scale:8.1f}"

    return (
        f"median {show(statistics.median(values))} {unit}  "
        f"min {show(min(values))}  max {show(max(values))}  (n={len(values)})"
    )


def slope(small: float, big: float, count_small: int, count_big: int) -> float:
    """Seconds per test between two suite sizes: start-up and fixed costs cancel."""
    return (big - small) / (count_big - count_small)


def compile_package() -> str:
    """Bring the plugin's bytecode up to date, as installing it from a wheel does.

    The runs measured are started with ``PYTHONDONTWRITEBYTECODE`` (nothing is written into
    the projects they run in), so a plugin module edited since it was last compiled would be
    compiled again by every run: tens of milliseconds of start-up the other side, installed
    with its bytecode, never pays."""
    import compileall

    import pytest_llmeval

    (package,) = pytest_llmeval.__path__
    compileall.compile_dir(package, quiet=1)
    return "bytecode: the plugin's compiled before the runs (as an installed wheel has it)"


def machine() -> list[str]:
    """The machine and versions, first in every script's output; compiles the plugin first."""
    compiled = compile_package()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    versions = []
    for name in ("pytest-llmeval-claude", "anthropic", "vcrpy", "pytest", "pytest-recording"):
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} absent")
    return [
        f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {load}",
        f"python {platform.python_version()} on {platform.system()} {platform.release()}",
        "packages: " + ", ".join(versions),
        compiled,
    ]


def cache_root() -> Path:
    """Where generated inputs that are slow to build (history files) are kept between runs."""
    root = Path(os.environ.get("LLMEVAL_BENCH_CACHE", "/tmp/llmeval-bench-cache"))
    root.mkdir(parents=True, exist_ok=True)
    return root
