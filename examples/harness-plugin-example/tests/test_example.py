"""The plugin's own tests: the harness conformance suite over this plugin's components, plus checks
of what is specific to them. Run with `pytest` after `pip install .` (the harness's pytest plugin,
harness.testing, is loaded automatically when med3d-harness is installed)."""

from __future__ import annotations

import pytest
from harness_plugin_example.encoder import TinyConv3dEncoder
from harness_plugin_example.judge import SentenceOverlapJudge
from harness_plugin_example.task import OrganListTask

from harness.scoring.green import make_prompt, parse_completion
from harness.task import Prediction
from harness.testing import TestHarnessConformance, check_encoder, check_projector  # noqa: F401
from harness_plugins.tasks.flare.records import Case

# Restrict the imported TestHarnessConformance to this distribution's components.
pytestmark = pytest.mark.harness_plugin("harness-plugin-example")


def test_encoder_two_stages_feed_the_projector():
    encoder = TinyConv3dEncoder(input_size=(16, 32, 32), channels=(4, 8), select_layer=-2)
    assert encoder.feature_shapes() == [(8 * 16 * 16, 4), (4 * 8 * 8, 8)]
    features = check_encoder(encoder, input_size=(16, 32, 32))
    check_projector("example-pool", in_shapes=[tuple(f.shape[1:]) for f in features], out_dim=16)


def test_judge_counts_shared_sentences():
    prompt = make_prompt("Liver is normal. Small left renal cyst.", "Liver is normal. Spleen is enlarged.")
    (completion,) = SentenceOverlapJudge().complete([prompt])
    # one matched finding, one false report, one missed finding -> 1 / (1 + 2)
    assert parse_completion(completion).score == pytest.approx(1 / 3)


def test_task_scores_set_f1():
    task = OrganListTask()
    case = Case.from_json({"case_id": "a.nii.gz", "findings": {"liver": "Normal.", "spleen": "Normal."}})
    prediction = Prediction("a.nii.gz/global/0", "a.nii.gz", "global", 0, "", task.parse(None, "Liver, kidneys"))
    scores = task.score([prediction], [case])
    assert scores["f1"] == pytest.approx(0.5)
    assert scores["n_cases"] == 1
