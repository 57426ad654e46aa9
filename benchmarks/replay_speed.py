"""Replay speed against pytest-recording, and the plugin's cost on a plain suite.

Run: .venv/bin/pip install -e '.[dev,bench]' && .venv/bin/python benchmarks/replay_speed.py

1. The same N tests, each making two model calls through the real SDK, recorded once against
   the stand-in server by pytest-llmeval and by pytest-recording (vcrpy's defaults), then
   replayed offline by each; wall time of the whole pytest process, median of several runs.
2. A plain suite of M trivial tests, with the plugin installed and with ``-p no:llmeval``.

Ratios below 1.0 mean pytest-llmeval is faster. Timings are noisy on shared machines: read
the ratios, not the seconds, and rerun before believing a small difference.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from pytest_llmeval.testing import StandInServer

APP = """
import anthropic, pytest

client = None

def ask(question):
    global client
    client = client or anthropic.Anthropic()
    reply = client.messages.create(
        model="claude-sonnet-5-5", max_tokens=200,
        system="You are a support agent for an online shoe shop. Be brief and polite.",
        messages=[{"role": "user", "content": question}],
    )
    return reply.content[0].text

@pytest.mark.MARK
@pytest.mark.parametrize("n", range(N))
def test_support(n):
    assert ask(f"Question {n}: can I return shoes?")
    assert ask(f"Question {n}: and sandals?")
"""

PLAIN = """
import pytest

@pytest.mark.parametrize("n", range(M))
def test_plain(n):
    assert n * 2 == n + n
"""


def _run(cwd: Path, args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"pytest failed in {cwd} {args}:\n{done.stdout[-3000:]}{done.stderr}")
    return elapsed


def _interleaved(
    a: tuple[Path, list[str]], b: tuple[Path, list[str]], env: dict[str, str], repeat: int
) -> tuple[float, float]:
    """Medians of A and B run alternately, so a busy spell on the machine hits both alike."""
    times_a, times_b = [], []
    for _ in range(repeat):
        times_a.append(_run(*a, env))
        times_b.append(_run(*b, env))
    return statistics.median(times_a), statistics.median(times_b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=200, help="LLM tests per suite")
    parser.add_argument("--plain", type=int, default=2000, help="Plain tests")
    parser.add_argument("--repeat", type=int, default=9, help="Runs per measurement")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="llmeval-bench-"))
    ours, theirs, plain = root / "llmeval", root / "recording", root / "plain"
    for path in (ours, theirs, plain):
        path.mkdir()
        (path / "pytest.ini").write_text("[pytest]\n")
    (ours / "test_app.py").write_text(
        textwrap.dedent(APP).replace("MARK", "llm").replace("N)", f"{args.tests})")
    )
    (theirs / "test_app.py").write_text(
        textwrap.dedent(APP).replace("MARK", "vcr").replace("N)", f"{args.tests})")
    )
    (plain / "test_plain.py").write_text(PLAIN.replace("M)", f"{args.plain})"))

    env = {k: v for k, v in os.environ.items() if k not in ("CI", "LLMEVAL_MODE")}
    with StandInServer(gzip=True) as server:
        env.update(ANTHROPIC_BASE_URL=server.url, ANTHROPIC_API_KEY="bench-key-0123456789")
        _run(ours, ["-p", "no:recording", "--llmeval-mode=record"], env)
        _run(theirs, ["-p", "no:llmeval", "--record-mode=once"], env)
        recorded = len(server.requests)
    # Offline from here: the server is gone; pytest-recording matches on the URI, so it keeps it.
    print(f"recorded {recorded} calls; replaying {args.tests} tests x {args.repeat} runs")
    t_ours, t_theirs = _interleaved(
        (ours, ["-p", "no:recording", "--llmeval-mode=replay"]),
        (theirs, ["-p", "no:llmeval", "--record-mode=none"]),
        env,
        args.repeat,
    )
    print(
        f"replay  pytest-llmeval {t_ours:6.2f}s  pytest-recording {t_theirs:6.2f}s  "
        f"ratio {t_ours / t_theirs:.3f}"
    )

    base_env = {**env, "PYTHONDONTWRITEBYTECODE": "1"}
    t_on, t_off = _interleaved(
        (plain, ["-p", "no:recording"]),
        (plain, ["-p", "no:llmeval", "-p", "no:recording"]),
        base_env,
        args.repeat,
    )
    print(f"plain   with plugin {t_on:6.2f}s  without {t_off:6.2f}s  ratio {t_on / t_off:.3f}")


if __name__ == "__main__":
    main()
