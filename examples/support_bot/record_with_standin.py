"""Re-record this example's cassettes, and its committed history, against the local stand-in.

There is no API key where the committed cassettes were made, so every answer below comes from
pytest-llmeval's stand-in Messages API (``pytest_llmeval.testing``), scripted to answer like
the real assistant and judge would. With a key, record against Claude instead:

    ANTHROPIC_API_KEY=sk-ant-... pytest examples/support_bot --llmeval-mode=rewrite

    python examples/support_bot/record_with_standin.py            # the cassettes
    python examples/support_bot/record_with_standin.py --history  # history, then the cassettes
    python examples/support_bot/record_with_standin.py --calibration  # only the calibration's

``--history`` replaces .llmeval/history with three replay runs of cassettes recorded from
three good variants of the answers, then records the committed cassettes from a variant whose
reply to an angry customer is curt: the judge's tone score drops from about 0.87 to 0.7, still
above the test's threshold, so every test passes; with one sample a side that drop is
inconclusive (the report says how many samples would settle it), and the curt reply, being
shorter, is an improvement in cost.

The judge grades the labelled answers of ``tests/labels.jsonl`` as the support team did, except
on the four in ``LABEL_DISAGREEMENTS``, as real judges go wrong: it counts no words, it is
lenient with a curt answer, it hears a hedge as no promise. ``--calibration`` records the
calibration test's cassette and ``llmeval calibrate``'s, and the kept calibration.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_llmeval.testing import LoggedRequest, Reply, StandInServer

HERE = Path(__file__).parent
#: Per variant: judge scores (0-10) by rubric, and the seconds each answer takes.
VARIANTS = {
    "good-1": ({"policy": 9, "tone": 9, "reroute": 9}, 0.30),
    "good-2": ({"policy": 8, "tone": 8, "reroute": 9}, 0.34),
    "good-3": ({"policy": 9, "tone": 9, "reroute": 10}, 0.31),
    "final": ({"policy": 9, "tone": 7, "reroute": 9}, 0.33),
}
ANSWERS = {
    "45 days": "I'm sorry, refunds are only possible within 30 days of delivery, so I can't "
    "refund shoes bought 45 days ago. If they're unworn, I can exchange them for store credit "
    "(up to 60 days after delivery), and if they turn out to be faulty, our 12-month warranty "
    "covers them. Shall I start a store-credit exchange for you?",
    "fell apart": "I'm so sorry your shoes fell apart after only two weeks; that shouldn't "
    "happen. They're covered by our 12-month warranty: reply with your order number and a photo, "
    "and we'll send a replacement or a refund straight away.",
    "refund take": "Once your return reaches us, the refund goes back to your original payment "
    "method within 5 working days. You'll get an email as soon as it's on its way.",
    "capital": "I can only help with Stride orders, returns, shipping and our shoes. Is there "
    "anything about an order I can help you with?",
    "poem": "Flying socks sound fun, but I can only help with Stride orders, returns, shipping "
    "and products. Can I help with any of those?",
}
CURT = "Faulty shoes are covered by the warranty. Send the order number and a photo."
REASONS = {
    "policy": "States the 30-day limit, refuses the refund and offers store credit and the "
    "warranty.",
    "tone": "Polite and apologetic, no blame, well under 80 words.",
    "reroute": "Declines the off-topic question and says what support can help with.",
}


LABELS = [json.loads(line) for line in (HERE / "tests" / "labels.jsonl").read_text().splitlines()]
#: The labelled answers the scripted judge grades against the team: score, reasoning.
LABEL_DISAGREEMENTS = {
    "policy-07": (
        7,
        "States the 30-day limit and offers store credit; looking for an exception "
        "is a hedge, not a promise of a refund.",
    ),
    "tone-04": (7, "Polite and to the point, with no blame; well under 80 words."),
    "tone-08": (8, "Warm, apologetic and helpful; does not blame the customer; about 70 words."),
    "reroute-11": (
        5,
        "Does not say which brand is better, but turns to choosing a Stride pair: "
        "a sales pitch more than a note of what support can help with.",
    ),
}
LABEL_REASONS = {
    "pass": "Meets every criterion of the rubric.",
    "fail": "Misses at least one criterion of the rubric.",
}


def _labelled_verdict(content: str) -> Reply | None:
    """The scripted judge's verdict on an answer of labels.jsonl; ``None`` for any other."""
    for label in LABELS:
        if f"<output>\n{label['output']}\n</output>" in content:
            if label["id"] in LABEL_DISAGREEMENTS:
                score, reasoning = LABEL_DISAGREEMENTS[label["id"]]
            else:
                score = 9 if label["human"] == "pass" else 2
                reasoning = LABEL_REASONS[label["human"]]
            verdict = json.dumps({"reasoning": reasoning, "score": score})
            return Reply(text=verdict, input_tokens=640, output_tokens=40, latency=0.2)
    return None


def _classify(message: str) -> str:
    text = message.lower()
    if "money back" in text or "refund" in text:
        intent = "refund"
    elif "swap" in text or "exchange" in text:
        intent = "exchange"
    elif "due" in text or "nothing came" in text:
        intent = "order_status"
    elif "waterproof" in text:
        intent = "product_question"
    else:
        intent = "other"
    order = re.search(r"\bA\d+\b", message)
    urgency = "high" if "wedding" in text or "!" in message else "normal"
    data = {"intent": intent, "order_id": order.group(0) if order else None, "urgency": urgency}
    if intent == "refund":  # some answers come fenced, as models do
        return f"```json\n{json.dumps(data)}\n```"
    return json.dumps(data)


def responder(variant: str) -> Callable[[LoggedRequest], Reply]:
    scores, latency = VARIANTS[variant]

    def respond(request: LoggedRequest) -> Reply:
        body = request.json() or {}
        labelled = _labelled_verdict(str(body["messages"][-1]["content"]))
        if "output_config" in body and labelled is not None:  # calibration's judge
            return labelled
        if "output_config" in body:  # the judge
            rubric = body["system"][-1]["text"]
            name = (
                "tone"
                if "Warm" in rubric
                else "reroute"
                if "Does not answer" in rubric
                else "policy"
            )
            score = scores[name]
            reasoning = REASONS[name] if score >= 8 else "Correct, but curt: no apology, no warmth."
            verdict = json.dumps({"reasoning": reasoning, "score": score})
            return Reply(text=verdict, input_tokens=610, output_tokens=45, latency=0.2)
        message = str(body["messages"][-1]["content"])
        if str(body.get("system", "")).startswith("Classify"):
            return Reply(
                text=_classify(message), input_tokens=120, output_tokens=30, latency=latency / 2
            )
        key = next((k for k in ANSWERS if k in message), None)
        text = ANSWERS.get(key or "", "Happy to help with your order.")
        if variant == "final" and key == "fell apart":
            text = CURT
        return Reply(text=text, input_tokens=230, output_tokens=len(text) // 4, latency=latency)

    return respond


def run(variant: str, *args: str, paths: tuple[str, ...] = (str(HERE),)) -> None:
    with StandInServer(responder=responder(variant)) as server:
        os.environ.update(ANTHROPIC_BASE_URL=server.url, ANTHROPIC_API_KEY="standin-key-0123456789")
        os.environ.pop("CI", None)
        code = pytest.main([*paths, "-p", "no:cacheprovider", "-q", "--llmeval-no-cache", *args])
    if code != 0:
        raise SystemExit(f"pytest exited {code} for variant {variant}")


#: ``llmeval calibrate``, run from this directory, reads the rubrics from the tests themselves.
CALIBRATE_ARGS = [
    "calibrate",
    "tests/labels.jsonl",
    "--rubric=policy=@tests/test_policy.py::POLICY_RUBRIC",
    "--rubric=tone=@tests/test_policy.py::TONE_RUBRIC",
    "--rubric=reroute=@tests/test_reroute.py::REROUTE_RUBRIC",
]


def calibrate() -> None:
    """The calibration test's cassette, then ``llmeval calibrate``'s."""
    from pytest_llmeval.cli import main as llmeval

    calibration_test = str(HERE / "tests" / "test_calibration.py")
    run("final", "--llmeval-mode=rewrite", "--llmeval-no-history", paths=(calibration_test,))
    with StandInServer(responder=responder("final")) as server:
        os.environ.update(ANTHROPIC_BASE_URL=server.url, ANTHROPIC_API_KEY="standin-key-0123456789")
        here = Path.cwd()
        os.chdir(HERE)
        try:
            code = llmeval([*CALIBRATE_ARGS, "--mode=rewrite"])
        finally:
            os.chdir(here)
    if code != 0:
        raise SystemExit(f"llmeval calibrate exited {code}")


def main() -> None:
    if "--calibration" in sys.argv:
        calibrate()
        return
    if "--history" in sys.argv:
        shutil.rmtree(HERE / ".llmeval" / "history", ignore_errors=True)
        for variant in ("good-1", "good-2", "good-3"):
            run(variant, "--llmeval-mode=rewrite", "--llmeval-no-history")
            run(variant, "--llmeval-mode=replay")
    run("final", "--llmeval-mode=rewrite", "--llmeval-no-history")


if __name__ == "__main__":
    main()
