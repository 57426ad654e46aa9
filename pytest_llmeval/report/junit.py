"""What JUnit XML carries per test as ``<property>``: pass rate, scores, latency, cost,
prompt-cache read ratio, time to first token."""

from __future__ import annotations

from pytest_llmeval.results import TestResult


def junit_properties(test: TestResult) -> list[tuple[str, object]]:
    """pytest's ``record_property`` pairs, attached to the test's teardown report."""
    properties: list[tuple[str, object]] = [
        ("llmeval_samples", test.samples),
        ("llmeval_pass_rate", round(test.pass_rate, 4)),
        ("llmeval_latency_s", round(test.latency_s, 4)),
        ("llmeval_cost_usd", "unknown" if test.cost_usd is None else test.cost_usd),
    ]
    properties += [(f"llmeval_score_{name}", score.mean) for name, score in test.scores.items()]
    if test.cache_read_ratio is not None:
        properties.append(("llmeval_cache_read_ratio", round(test.cache_read_ratio.mean, 4)))
    if test.ttft_s is not None:
        properties.append(("llmeval_ttft_s", round(test.ttft_s, 4)))
    return properties
