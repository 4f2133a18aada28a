"""The plugin's own tests: the harness conformance suite over this plugin's components, plus checks
of what is specific to them. Run with `pytest` after `pip install .` (the harness's pytest plugin,
harness.testing, is loaded automatically when med3d-harness is installed)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from harness_plugin_example.data import DEMO_NAME, shipped_demo, write_demo
from harness_plugin_example.encoder import TinyConv3dEncoder
from harness_plugin_example.judge import SentenceOverlapJudge
from harness_plugin_example.task import LesionCountTask

from harness import testing
from harness.errors import HarnessError
from harness.scoring.green import make_prompt, parse_completion
from harness.task import Prediction, check_task
from harness.testing import TestHarnessConformance, check_encoder, check_projector, example_tokenizer  # noqa: F401

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


def test_task_follows_the_contract():
    check_task(LesionCountTask, plugin="example")
    assert LesionCountTask().metric("mae").higher_is_better is False


def test_conformance_check_passes_on_a_case_of_the_tasks_own(tmp_path):
    task = LesionCountTask()
    case = task.load_data(task.write_demo(tmp_path, cases=1, seed=0)).cases[0]
    (request,) = testing.check_task(task, case, style="chat")
    assert request.image == tmp_path / "images" / "lesions_000.npz" and request.image.is_file()


def test_shipped_demo_is_write_demo_with_seed_0(tmp_path):
    written = write_demo(tmp_path, cases=6, seed=0)
    shipped = shipped_demo()
    assert (written / "validation.jsonl").read_text() == (shipped / "validation.jsonl").read_text()
    for path in sorted((shipped / "images").glob("*.npz")):
        with np.load(path) as a, np.load(written / "images" / path.name) as b:
            np.testing.assert_array_equal(a["volume"], b["volume"])


def test_demo_answers_count_the_spheres(tmp_path):
    """The reference answer is what the volume shows: one connected bright blob per lesion."""
    from scipy import ndimage

    task = LesionCountTask()
    for case in task.load_data(write_demo(tmp_path, cases=8, seed=3)).cases:
        with np.load(case.image) as archive:
            volume = archive["volume"][0].astype(np.float32)
        _, blobs = ndimage.label(volume > 0.6)
        assert str(blobs) == case.answer, case.case_id


def test_load_data_identity_names_split_file_and_cases():
    loaded = LesionCountTask().load_data(DEMO_NAME)
    assert [c.case_id for c in loaded.cases][:2] == ["lesions_000", "lesions_001"]
    assert loaded.identity["name"] == DEMO_NAME and loaded.identity["split"] == "validation"
    assert loaded.identity["n_cases"] == 6 and len(loaded.identity["sha256"]) == 64
    assert all(case.image.is_file() for case in loaded.cases)


@pytest.mark.parametrize(("line", "message"), [
    ("{not json", r"bad\.jsonl:2: not JSON"),
    ('{"case_id": "b", "image": "x.npz", "question": "q"}', r"bad\.jsonl:2: needs the string field\(s\) answer"),
    ('{"case_id": "b", "image": "x.npz", "question": "q", "answer": "two"}', r"bad\.jsonl:2: answer 'two' is not"),
    ('{"case_id": "b", "image": "x.npz", "question": "q", "answer": "\u00b2"}', r"bad\.jsonl:2: answer '\u00b2'"),
    ('{"case_id": "a", "image": "x.npz", "question": "q", "answer": "1"}', r"bad\.jsonl:2: case_id 'a' repeats line 1"),
    ("[1, 2]", r"bad\.jsonl:2: expected a JSON object"),
])
def test_bad_records_are_one_line_naming_file_and_line(tmp_path, line, message):
    good = json.dumps({"case_id": "a", "image": "x.npz", "question": "q", "answer": "1"})
    (tmp_path / "bad.jsonl").write_text(f"{good}\n{line}\n")
    with pytest.raises(HarnessError, match=message) as caught:
        LesionCountTask().load_data(tmp_path / "bad.jsonl")
    assert "\n" not in str(caught.value)


def test_records_that_are_not_utf8_are_one_line(tmp_path):
    (tmp_path / "latin1.jsonl").write_bytes(b'{"case_id": "\xe9"}\n')
    with pytest.raises(HarnessError, match=r"latin1\.jsonl: not UTF-8 text \(byte 13\)"):
        LesionCountTask().load_data(tmp_path / "latin1.jsonl")


def test_missing_split_names_the_splits_there(tmp_path):
    write_demo(tmp_path, cases=1, seed=0)
    with pytest.raises(HarnessError, match=r"no split 'test' .* its splits: validation"):
        LesionCountTask().load_data(tmp_path, split="test")


@pytest.mark.parametrize(("text", "count"), [
    (" 2. 2.", "2"), ("\u00b2 or 4", "4"), ("There are three lesions.", "3"), ("No lesions.", "0"), ("none", "0"),
    ("I cannot tell", ""),
])
def test_parse_reads_the_first_count(text, count):
    assert LesionCountTask().parse(None, text) == count


def test_requests_render_the_chat_template_with_the_image_tokens():
    task = LesionCountTask()
    case = task.load_data(DEMO_NAME).cases[0]
    (request,) = task.requests(case, style="chat", image_tokens="<im>" * 3, tokenizer=example_tokenizer())
    assert request.prompt.startswith("<|im_start|>user\n<im><im><im> How many lesions")
    assert request.prompt.endswith("<|im_start|>assistant\n")
    assert (request.key, request.target, request.decoding) == ("lesions_000/answer/0", "3", task.decoding["answer"])
    with pytest.raises(HarnessError, match="not 'med3dvlm'; pass --set style=chat"):
        task.requests(case, style="med3dvlm", image_tokens="<im>", tokenizer=example_tokenizer())


def _prediction(case_id: str, text: str) -> Prediction:
    return Prediction(f"{case_id}/answer/0", case_id, "answer", 0, "", text)


def test_score_exact_match_over_all_and_mae_over_parsed_answers():
    task = LesionCountTask()
    cases = task.load_data(DEMO_NAME).cases[:3]  # answers 3, 2, 1
    scores = task.score([_prediction("lesions_000", "3"), _prediction("lesions_001", "0"),
                         _prediction("lesions_002", "")], cases)
    assert scores["exact_match"] == pytest.approx(1 / 3)
    assert scores["mae"] == pytest.approx(1.0)  # |3-3| and |0-2| over the two parsed answers
    assert (scores["n_cases"], scores["n_parsed"]) == (3, 2)
    assert scores["per_case"]["lesions_002"] == {"exact_match": 0.0, "mae": None}


def test_score_refuses_predictions_for_unknown_cases():
    task = LesionCountTask()
    with pytest.raises(HarnessError, match="case 'elsewhere', which the ground truth lacks"):
        task.score([_prediction("elsewhere", "1")], task.load_data(DEMO_NAME).cases)


def test_score_file_reads_a_csv_of_answers(tmp_path):
    task = LesionCountTask()
    csv_file = tmp_path / "answers.csv"
    csv_file.write_text("case_id,prediction\nlesions_000,three\nlesions_001,2 lesions\n")
    ground_truth = shipped_demo() / "validation.jsonl"
    scores = task.score_file(csv_file, ground_truth=ground_truth, make_judge=lambda: None, cache_dir=None)
    assert (scores["exact_match"], scores["mae"], scores["n_cases"]) == (1.0, 0.0, 2)
    assert task.score_file(tmp_path / "p.jsonl", ground_truth=ground_truth, make_judge=lambda: None,
                           cache_dir=None) is None


def test_the_package_uses_only_the_harness_core():
    """A third-party task needs the contract, not the built-in plugins (FLARE is one of them)."""
    import ast
    from pathlib import Path

    import harness_plugin_example

    imported = set()
    for path in Path(harness_plugin_example.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
    assert "harness.task" in imported
    assert not {name for name in imported if name.split(".")[0] == "harness_plugins"}
