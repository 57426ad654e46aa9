"""``--llmeval-compare-model CURRENT=CANDIDATE``: each sample runs for both models, the current
from the cassette (or as the mode says), the candidate live or cached and never recorded; the
report gives each score a paired verdict with its sign test, and cost and latency deltas."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator

import pytest
from conftest import KEY

from pytest_llmeval.money import money
from pytest_llmeval.testing import LoggedRequest, Reply, StandInServer

CURRENT, CANDIDATE = "claude-sonnet-4-6", "claude-opus-4-6"
#: A model the app may use besides the current one: never swapped.
OTHER = "claude-haiku-4-5"
FLAG = f"--llmeval-compare-model={CURRENT}={CANDIDATE}"

APP = """
import anthropic, pytest

@pytest.mark.llm(samples={samples})
def test_policy(llmeval):
    reply = anthropic.Anthropic().messages.create(
        model="{model}", max_tokens=50,
        messages=[{{"role": "user", "content": "Return policy?"}}],
    )
    text = reply.content[0].text
    llmeval.grade(text, "States the 30-day return window.", name="policy")
    assert "30 days" in text, text
"""


def _is_judge(request: LoggedRequest) -> bool:
    return "output_config" in request.json()


def _app_models(requests: list[LoggedRequest]) -> list[str]:
    return [r.json()["model"] for r in requests if not _is_judge(r)]


def responder(
    *, candidate_text: str = "Within 30 days, with a receipt (candidate)."
) -> Callable[[LoggedRequest], Reply]:
    """The current model (and ``OTHER``) answers plainly, the candidate as told; the judge gives 9 to an
    answer that mentions the receipt, 4 otherwise. Tokens and durations are fixed per model."""

    def answer(request: LoggedRequest) -> Reply:
        body = request.json()
        if "output_config" in body:
            graded = body["messages"][0]["content"]
            score = 9 if "receipt" in graded else 4
            return Reply(text=json.dumps({"reasoning": "checked", "score": score}), takes=0.25)
        if body["model"] not in (CURRENT, OTHER):  # the candidate, whatever its name
            return Reply(text=candidate_text, input_tokens=100, output_tokens=40, takes=0.5)
        return Reply(text="Within 30 days.", input_tokens=100, output_tokens=20, takes=1.5)

    return answer


def _serve(
    monkeypatch: pytest.MonkeyPatch, answer: Callable[[LoggedRequest], Reply]
) -> Iterator[StandInServer]:
    with StandInServer(responder=answer) as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        for name in ("CI", "LLMEVAL_MODE", "ANTHROPIC_AUTH_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        yield server


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInServer]:
    """A developer with a key, the API a stand-in that answers per model (``responder``)."""
    yield from _serve(monkeypatch, responder())


@pytest.fixture
def same_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInServer]:
    """As ``server``, the candidate answering word for word as the current model does."""
    yield from _serve(monkeypatch, responder(candidate_text="Within 30 days."))


def _run(pytester: pytest.Pytester, standin, *args: str) -> pytest.RunResult:
    return pytester.runpytest(
        "-p",
        "no:cacheprovider",
        FLAG,
        "--llmeval-report-json=run.json",
        *args,
        plugins=[standin.clock],
    )


def _comparison(pytester: pytest.Pytester) -> dict:
    document = json.loads((pytester.path / "run.json").read_text(encoding="utf-8"))
    (test,) = document["tests"]
    return test["comparison"]


def _metric(comparison: dict, name: str) -> dict:
    return next(m for m in comparison["metrics"] if m["metric"] == name)


def test_candidate_better_on_every_sample_then_replayed_from_cache(pytester, server):
    online = server
    pytester.makepyfile(test_app=APP.format(samples=6, model=CURRENT))
    first = _run(pytester, online)
    first.assert_outcomes(passed=1)
    # The stand-in saw the candidate model: 6 samples a model, each graded by the judge.
    models = _app_models(online.requests)
    assert models.count(CURRENT) == 6 and models.count(CANDIDATE) == 6
    (cassette,) = sorted(pytester.path.rglob("cassettes/**/*.yaml"))
    recorded = cassette.read_bytes()
    assert CANDIDATE.encode() not in recorded, "the candidate's calls reached the cassette"
    assert recorded.count(b"(candidate)") == 0

    comparison = _comparison(pytester)
    policy = _metric(comparison, "policy")
    assert policy["verdict"] == "better"
    assert (policy["better"], policy["worse"], policy["same"]) == (6, 0, 0)
    assert policy["p_value"] == 2 / 2**6  # the exact sign test: 6 of 6 one way
    assert (policy["current"], policy["candidate"]) == (pytest.approx(0.4), pytest.approx(0.9))
    assert _metric(comparison, "pass/fail")["verdict"] == "same"
    # Per sample: 100 in / 20 out at $3/$15 per million, against 100 in / 40 out at $5/$25.
    current_cost = (100 * 3 + 20 * 15) / 1e6
    candidate_cost = (100 * 5 + 40 * 25) / 1e6
    assert comparison["cost_usd"]["current"] == pytest.approx(current_cost, abs=1e-15)
    assert comparison["cost_usd"]["candidate"] == pytest.approx(candidate_cost, abs=1e-15)
    assert comparison["cost_usd"]["delta"] == pytest.approx(
        candidate_cost - current_cost, abs=1e-15
    )
    assert comparison["latency_s"] == {"current": 1.5, "candidate": 0.5, "delta": -1.0}
    assert comparison["rewritten_calls"] == 6
    # Paid in this run on top of the test's own calls: the six answers and their grading.
    spent = comparison["spent_usd"]
    assert spent > 6 * candidate_cost
    first.stdout.fnmatch_lines(
        [
            f"tokens * spent now; the candidate model's calls spent {money(spent)} more",
            "*",
            f"model comparison {CURRENT} -> {CANDIDATE} over 1 test(s): 1 better, 0 worse, "
            "1 same, 0 inconclusive",
        ]
    )
    first.stdout.fnmatch_lines(
        [
            f"model comparison {CURRENT} -> {CANDIDATE} over 1 test(s): 1 better, 0 worse, "
            "1 same, 0 inconclusive",
            "  test_app.py::test_policy (6 sample(s); candidate calls 12 network, 0 cache)",
            "    pass/fail: same  100% passed -> 100% passed  (0 better, 0 worse, 6 same; "
            "sign test p=1)",
            "    policy: BETTER  0.40 -> 0.90  (6 better, 0 worse, 0 same; sign test p=0.0312)",
            "    per sample: cost $0.00060 -> $0.0015 (+$0.00090); latency 1.50s -> 0.50s (-1.00s)",
        ]
    )

    # Again: the current model replays from the cassette, the candidate from the cache.
    online.clear()
    again = _run(pytester, online)
    again.assert_outcomes(passed=1)
    assert online.requests == [], "the second comparison asked the server again"
    assert cassette.read_bytes() == recorded
    replayed = _comparison(pytester)
    assert (replayed["network_calls"], replayed["cache_calls"]) == (0, 12)
    assert replayed["spent_usd"] == 0
    again.stdout.fnmatch_lines(["tokens * spent now; the candidate model's calls spent $0.00 more"])
    assert replayed["metrics"] == comparison["metrics"]
    assert replayed["latency_s"] == comparison["latency_s"]


def test_candidate_answering_the_same_is_same(pytester, same_server):
    pytester.makepyfile(test_app=APP.format(samples=2, model=CURRENT))
    _run(pytester, same_server).assert_outcomes(passed=1)
    comparison = _comparison(pytester)
    for metric in comparison["metrics"]:
        assert metric["verdict"] == "same", metric
        assert (metric["better"], metric["worse"], metric["same"]) == (0, 0, 2)
        assert metric["p_value"] == 1.0
    assert _app_models(same_server.requests) == [CURRENT, CANDIDATE] * 2


def test_one_sample_is_inconclusive_and_says_how_many_would_settle_it(pytester, server):
    pytester.makepyfile(test_app=APP.format(samples=1, model=CURRENT))
    result = _run(pytester, server)
    result.assert_outcomes(passed=1)
    policy = _metric(_comparison(pytester), "policy")
    assert (policy["verdict"], policy["needed"]) == ("inconclusive", 6)
    result.stdout.fnmatch_lines(
        [
            "    policy: inconclusive  0.40 -> 0.90  (1 better, 0 worse, 0 same; sign test p=1; "
            "1 sample: a sign test needs 6 samples, all one way, to reach 5%)",
        ]
    )


def test_judge_calls_are_never_rewritten(pytester, server):
    # The judge is the current model itself: only the app's requests may change model.
    pytester.makepyfile(test_app=APP.format(samples=2, model=CURRENT))
    _run(pytester, server, f"--llmeval-judge-model={CURRENT}").assert_outcomes(passed=1)
    judged = [r.json()["model"] for r in server.requests if _is_judge(r)]
    assert judged == [CURRENT] * 4, "both passes are graded by the same judge"
    assert _app_models(server.requests) == [CURRENT, CANDIDATE] * 2
    assert _metric(_comparison(pytester), "policy")["better"] == 2


def test_requests_for_other_models_are_left_alone(pytester, server):
    pytester.makepyfile(test_app=APP.format(samples=1, model=OTHER))
    # Without the cache: the candidate's pass asks the server too (with it, the current's
    # answer to the very same request would do).
    result = _run(pytester, server, "--llmeval-no-cache")
    result.assert_outcomes(passed=1)
    assert _app_models(server.requests) == [OTHER] * 2
    assert _comparison(pytester)["rewritten_calls"] == 0
    result.stdout.fnmatch_lines(
        [f"    no app request asked for {CURRENT}: both passes asked the same models"]
    )


def test_the_test_keeps_the_current_models_verdict(pytester, monkeypatch):
    # The candidate drops the return window on every sample: its pass fails, the test does not.
    with contextlib.ExitStack() as stack:
        answers = responder(candidate_text="Whenever you like.")
        server = stack.enter_context(contextlib.contextmanager(_serve)(monkeypatch, answers))
        pytester.makepyfile(test_app=APP.format(samples=6, model=CURRENT))
        result = _run(pytester, server)
    result.assert_outcomes(passed=1)
    document = json.loads((pytester.path / "run.json").read_text(encoding="utf-8"))
    (test,) = document["tests"]
    assert (test["outcome"], test["passed_samples"], test["cost_usd"]) == (
        "passed",
        6,
        pytest.approx((100 * 3 + 20 * 15) / 1e6),
    )
    passes = _metric(test["comparison"], "pass/fail")
    assert (passes["verdict"], passes["worse"], passes["candidate"]) == ("worse", 6, 0.0)


def test_unpriced_candidate_shows_unpriced_never_zero(pytester, server):
    pytester.makepyfile(test_app=APP.format(samples=1, model=CURRENT))
    result = pytester.runpytest(
        "-p",
        "no:cacheprovider",
        f"--llmeval-compare-model={CURRENT}=claude-next-1",
        "--llmeval-report-json=run.json",
        "--llmeval-report-md=run.md",
        plugins=[server.clock],
    )
    result.assert_outcomes(passed=1)
    comparison = _comparison(pytester)
    assert comparison["cost_usd"]["candidate"] is None
    assert comparison["cost_usd"]["delta"] is None
    assert comparison["unpriced"] == {"current": [], "candidate": ["claude-next-1"]}
    assert comparison["spent_usd"] is None  # never a partial sum
    result.stdout.fnmatch_lines(
        ["tokens * the candidate model's calls spent an unknown amount (a model without a price)*"]
    )
    result.stdout.fnmatch_lines(
        ["    per sample: cost $0.00060 -> unpriced (no price for claude-next-1); latency *"]
    )
    markdown = (pytester.path / "run.md").read_text(encoding="utf-8")
    assert "The candidate model's calls spent an unknown amount (a model without a price)" in (
        markdown
    )
    assert (
        "| `test_app.py::test_policy` | 1 | $0.00060 -> unpriced (no price for claude-next-1) | "
        "1.50s -> 0.50s (-1.00s) |"
    ) in markdown
    assert "| `test_app.py::test_policy` | policy | inconclusive (1 sample; needs 6) |" in markdown


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("claude-sonnet-4-6", "'claude-sonnet-4-6' is not CURRENT=CANDIDATE"),
        ("=claude-opus-4-6", "'=claude-opus-4-6' is not CURRENT=CANDIDATE"),
        ("a=b=c", "'a=b=c' is not CURRENT=CANDIDATE"),
        ("claude-a=claude-a", "'claude-a=claude-a' compares 'claude-a' with itself"),
        ("claude a=claude-b", "'claude a=claude-b': a model name has no spaces"),
    ],
)
def test_a_malformed_value_is_a_usage_error_naming_the_flag(pytester, value, said):
    pytester.makepyfile(test_app=APP.format(samples=1, model=CURRENT))
    result = pytester.runpytest("-p", "no:cacheprovider", f"--llmeval-compare-model={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*argument --llmeval-compare-model: {said}*"])
