"""How long a 50 MB response takes to record into a cassette and to replay from it.

Run: .venv/bin/pip install -e '.[dev,bench]' && .venv/bin/python benchmarks/big_recording.py
(``benchmarks/run.py`` prints the JSON figures with all the others.)

One test makes one model call through the real SDK against the stand-in server; the reply is
a JSON message (``--kind json``) or an SSE stream (``--kind sse``) whose body is about
``--mb`` megabytes. The test is recorded (``--llmeval-mode=record``), then replayed offline
(``--llmeval-mode=replay``, server stopped); each is the wall time of a whole pytest process,
best of ``--repeat``. A trivial test's run is timed too: pytest's own start-up is in every
figure. Targets: record under 10 s, replay under 3 s; ratios below 1.0 meet them.

For SSE, most of the time is the SDK parsing hundreds of thousands of events, recorded or
not: compare with ``--live``, which times the same call with no cassette at all.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

from harness import Figure, machine

from pytest_llmeval.testing import Reply, StandInServer

TARGET_RECORD_S = 10.0
TARGET_REPLAY_S = 3.0

APP = """
import anthropic, pytest

@pytest.mark.llm
def test_big(llmeval):
    client = anthropic.Anthropic(max_retries=0, timeout=600)
    if STREAM:
        with client.messages.stream(
            model="claude-sonnet-5-5", max_tokens=64000,
            messages=[{"role": "user", "content": "Write a lot."}],
        ) as stream:
            text = stream.get_final_message().content[0].text
    else:
        reply = client.messages.create(
            model="claude-sonnet-5-5", max_tokens=64000,
            messages=[{"role": "user", "content": "Write a lot."}],
        )
        text = reply.content[0].text
    assert len(text) == CHARS

def test_nothing():
    pass
"""

#: Bytes of SSE per character of text: the stand-in sends 16 characters per delta event.
_SSE_BYTES_PER_CHAR = 9.5


_PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:recording"]
_DURATION = re.compile(r"^([0-9.]+)s (setup|call|teardown) +test_big\.py::test_big$", re.M)


@dataclass(frozen=True)
class Timing:
    #: The whole pytest process: start-up and imports included.
    wall: float
    #: setup + call + teardown of test_big as pytest reports them: cassette load, the call,
    #: cassette save; the imports of start-up and collection are not in it.
    test: float


def _run(cwd: Path, args: list[str], env: dict[str, str]) -> Timing:
    start = time.perf_counter()
    done = subprocess.run(
        [*_PYTEST, "--durations=0", "--durations-min=0", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"pytest failed in {cwd} {args}:\n{done.stdout[-3000:]}{done.stderr}")
    return Timing(elapsed, sum(float(m[0]) for m in _DURATION.findall(done.stdout)))


def _best(timings: list[Timing]) -> Timing:
    return min(timings, key=lambda t: t.test)


@dataclass(frozen=True)
class BigRun:
    chars: int
    cassette_bytes: int
    startup: float
    record: list[Timing]
    replay: list[Timing]
    live: list[Timing]


def measure(
    mb: float, kind: str, repeat: int, *, live: bool = False, startup: bool = True
) -> BigRun:
    """Record a response of ``mb`` megabytes ``repeat`` times, then replay it as often."""
    stream = kind == "sse"
    size = int(mb * 1_000_000)
    chars = int(size / _SSE_BYTES_PER_CHAR) if stream else size
    # Words and newlines, as a model writes; JSON escapes the newlines, SSE splits the text.
    text = ("All work and no play makes a long reply.\n" * (chars // 41 + 1))[:chars]
    project = Path(tempfile.mkdtemp(prefix="llmeval-big-"))
    (project / "pytest.ini").write_text("[pytest]\n")
    (project / "test_big.py").write_text(
        textwrap.dedent(APP).replace("STREAM", str(stream)).replace("CHARS", str(chars))
    )
    cassette = project / "cassettes" / "test_big" / "test_big.yaml"
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "LLMEVAL_MODE")}
    nothing = [
        _run(project, ["-k", "test_nothing"], env).wall for _ in range(repeat if startup else 0)
    ]
    record: list[Timing] = []
    live_runs: list[Timing] = []
    no_cache = "--llmeval-no-cache"
    with StandInServer() as server:
        env.update(ANTHROPIC_BASE_URL=server.url, ANTHROPIC_API_KEY="bench-key-0123456789")
        for _ in range(repeat):
            cassette.unlink(missing_ok=True)
            server.queue(Reply(text=text))
            record.append(_run(project, ["-k", "test_big", "--llmeval-mode=record", no_cache], env))
        if live:
            for _ in range(repeat):
                server.queue(Reply(text=text))
                live_runs.append(
                    _run(project, ["-k", "test_big", "--llmeval-mode=live", no_cache], env)
                )
    env.pop("ANTHROPIC_API_KEY")
    env["ANTHROPIC_BASE_URL"] = "http://127.0.0.1:9"
    replay = [
        _run(project, ["-k", "test_big", "--llmeval-mode=replay"], env) for _ in range(repeat)
    ]
    return BigRun(
        chars, cassette.stat().st_size, min(nothing, default=0.0), record, replay, live_runs
    )


def figures(mb: float, repeat: int, *, number: str = "6") -> list[Figure]:
    """Figure 6: record and replay of a big JSON response against their absolute targets."""
    big = measure(mb, "json", repeat, startup=False)
    what = f"a {mb:g} MB JSON response (cassette {big.cassette_bytes / 1e6:.1f} MB)"
    note = "test = setup + call + teardown as pytest reports it; whole process: "
    return [
        Figure(
            f"{number}a. Big recordings: record {what}; runs: {repeat}",
            "A record (test)",
            [t.test for t in big.record],
            op="<",
            limit=TARGET_RECORD_S,
            notes=[note + f"median {statistics.median(t.wall for t in big.record):.2f} s"],
        ),
        Figure(
            f"{number}b. Big recordings: replay {what}; runs: {repeat}",
            "A replay (test)",
            [t.test for t in big.replay],
            op="<",
            limit=TARGET_REPLAY_S,
            notes=[note + f"median {statistics.median(t.wall for t in big.replay):.2f} s"],
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=50.0, help="Response body size in MB")
    parser.add_argument("--kind", choices=["json", "sse"], default="json")
    parser.add_argument("--repeat", type=int, default=3, help="Runs per measurement (best kept)")
    parser.add_argument("--live", action="store_true", help="Also time the call with no cassette")
    args = parser.parse_args()

    print("\n".join(machine()))
    big = measure(args.mb, args.kind, args.repeat, live=args.live)
    print(f"{args.kind} response of {args.mb:g} MB ({big.chars:,} characters of text)")
    print(f"cassette {big.cassette_bytes / 1e6:.1f} MB; pytest start-up {big.startup:.2f}s")
    print("          test (setup+call+teardown)   whole pytest process")
    for name, timings, target in (
        ("record", big.record, TARGET_RECORD_S),
        ("replay", big.replay, TARGET_REPLAY_S),
    ):
        best = _best(timings)
        print(
            f"{name}  {best.test:6.2f}s  target {target:4.1f}s  ratio {best.test / target:.2f}"
            f"    {best.wall:6.2f}s"
        )
    if big.live:
        best = _best(big.live)
        print(f"live    {best.test:6.2f}s  (same call, no cassette)        {best.wall:6.2f}s")


if __name__ == "__main__":
    main()
