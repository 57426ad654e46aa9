"""Does the judge agree with the support team? Calibrated on verdicts the team wrote by hand.

``labels.jsonl`` holds 36 answers the team labelled pass or fail, 12 per rubric. The judge
grades them here through this test's cassette, so CI replays the calibration at no cost; the
result is kept in ``.llmeval/calibration.json``, where ``llmeval_min_kappa`` (pytest.ini) looks
each ``assert_rubric``'s rubric up.
"""

import pytest
from test_policy import POLICY_RUBRIC, TONE_RUBRIC
from test_reroute import REROUTE_RUBRIC

RUBRICS = {"policy": POLICY_RUBRIC, "tone": TONE_RUBRIC, "reroute": REROUTE_RUBRIC}


@pytest.mark.llm
def test_the_judge_agrees_with_the_support_team(llmeval):
    calibration = llmeval.calibrate("labels.jsonl", rubrics=RUBRICS, threshold=0.7)
    assert not calibration.below(0.6), calibration.render(min_kappa=0.6)
