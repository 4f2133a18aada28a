"""FLARE task plugins: prompts exactly as the published Med3DVLM code builds them, parsing, targets, and the
task contract's members (data sets, demo, preprocessing, reference CSV files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness import plugins
from harness.errors import HarnessError
from harness.scoring.judging import GreenScorer
from harness.task import DataSetCard, check_task
from harness_plugins.tasks.flare.chains import prompt_chain, roots, scoring_chains
from harness_plugins.tasks.flare.demo import generate_demo
from harness_plugins.tasks.flare.files import read_report_csv
from harness_plugins.tasks.flare.preprocess import output_name
from harness_plugins.tasks.flare.records import Case, case_stem
from harness_plugins.tasks.flare.report import score_reports
from harness_plugins.tasks.flare.tasks import FlareReportTask, FlareTask, FlareVQATask
from harness_plugins.tasks.flare.windows import REFERENCE_WINDOWS, reference_window


class QwenStyleTokenizer:
    """Renders messages the way Qwen2.5's chat template does (enough to check prompt assembly)."""

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=False):
        text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
        return text + ("<|im_start|>assistant\n" if add_generation_prompt else "")


RECORD = {
    "case_id": "amos_0008.nii.gz",
    "findings": {"liver": "Normal size.", "kidneys": "Left renal cyst."},
    "global_vqa": [{"question": "Which conditions are present? ", "answer": ["renal_cyst"],
                    "choices": ["renal_cyst", "liver_lesion"]}],
    "local_vqa": [
        {"id": 1, "follow_up": -1, "question": "Is there a renal cyst?", "answer": "Yes"},
        {"id": 2, "follow_up": 1, "question": "Which side?", "answer": "Left", "choices": ["Left", "Right"]},
        {"id": 3, "follow_up": 2, "question": "Appearance?", "answer": "Simple"},
        {"id": 4, "follow_up": -1, "question": "Is there ascites?", "answer": "No"},
    ],
}


@pytest.fixture
def case() -> Case:
    return Case.from_json(RECORD)


def test_report_prompt_is_the_published_one(case):
    task = plugins.registry("tasks").create("flare_report")
    (request,) = task.requests(case, style="med3dvlm", image_tokens="<im>" * 3, tokenizer=QwenStyleTokenizer())
    assert request.prompt == (
        "<im><im><im><|im_start|>system\nYou are an AI assistant trained to act as an abdominal radiologist."
        "<|im_end|>\n<|im_start|>user\n Please describe in detail the findings in this abdomen CT scan.\n"
        "        <|im_end|>\n"
    )
    assert request.target == "liver: Normal size.\nkidneys: Left renal cyst."
    assert request.decoding == {"do_sample": False, "max_new_tokens": 512}


def test_vqa_prompts_global_and_direct_follow_up_chains(case):
    task = plugins.registry("tasks").create("flare_vqa")
    requests = task.requests(case, style="med3dvlm", image_tokens="<im>", tokenizer=QwenStyleTokenizer())
    assert [r.key for r in requests] == ["amos_0008.nii.gz/global/0", "amos_0008.nii.gz/local/1",
                                         "amos_0008.nii.gz/local/4"]
    global_request, chain, single = requests
    assert "<|im_start|>user\n<im> Which conditions are present? Choices: ['renal_cyst', 'liver_lesion']" \
           "<|im_end|>\n" in global_request.prompt
    assert global_request.prompt.startswith("<|im_start|>system\nYou are an AI assistant acting as a radiologist")
    assert not global_request.prompt.endswith("assistant\n")
    # the reference asks a root with its direct follow-ups only
    assert chain.question == "1. Is there a renal cyst?\n2. Which side? Choices: ['Left', 'Right']"
    assert chain.target == "1. Yes\n2. Left"
    assert single.target == "1. No"
    assert global_request.decoding["max_new_tokens"] == 128 and chain.decoding["max_new_tokens"] == 64


def test_chat_style_adds_generation_prompt(case):
    task = plugins.registry("tasks").create("flare_report")
    (request,) = task.requests(case, style="chat", image_tokens="<im>", tokenizer=QwenStyleTokenizer())
    assert request.prompt.startswith("<|im_start|>user\n<im> You are")
    assert request.prompt.endswith("<|im_start|>assistant\n")


def test_unknown_style_is_one_clear_error(case):
    task = plugins.registry("tasks").create("flare_vqa")
    with pytest.raises(HarnessError, match="unknown prompt style 'fancy'"):
        task.requests(case, style="fancy", image_tokens="", tokenizer=QwenStyleTokenizer())


@pytest.mark.parametrize(
    ("scope", "completion", "parsed"),
    [
        ("local", "1. Yes\n2. Left\n", "Yes|Left"),
        ("local", "1. Yes\nbecause", "1. Yes\nbecause"),
        ("local", "   ", "None"),
        ("global", " renal_cyst, liver_lesion ", "renal_cyst, liver_lesion"),
        ("global", "", "None"),
    ],
)
def test_parse_like_the_reference_scripts(case, scope, completion, parsed):
    task = plugins.registry("tasks").create("flare_vqa")
    request = next(r for r in task.requests(case, style="med3dvlm", image_tokens="",
                                            tokenizer=QwenStyleTokenizer()) if r.scope == scope)
    assert task.parse(request, completion) == parsed


# The task contract's members, as the core calls them.

FIXTURES = Path(__file__).parent / "fixtures" / "scoring"
VQA_CSV = FIXTURES / "flare_vqa" / "predictions.csv"
VQA_TRUTH = FIXTURES / "flare_vqa" / "ground_truth.json"
REPORT_CSV = FIXTURES / "flare_report" / "generated.csv"


def no_judge():
    raise AssertionError("the judge is built only for report CSV files")


@pytest.mark.parametrize("cls", [FlareReportTask, FlareVQATask])
def test_flare_tasks_follow_the_task_contract(cls):
    check_task(cls, plugin="med3d-harness")
    check_task(cls(), plugin="med3d-harness")
    task = plugins.registry("tasks").create(cls.name)
    assert isinstance(task, cls) and task.data_format == "flare"
    assert all(scope in task.decoding for scope in task.reference_decoding)
    assert [m.key for m in task.metrics if m.primary] == [{"flare_report": "green", "flare_vqa": "global_accuracy"}[
        cls.name]]


def test_a_flare_task_without_its_csv_reader_is_refused_by_the_contract():
    class Incomplete(FlareTask):
        name, version = "incomplete", "1"
        metrics = FlareVQATask.metrics
        decoding = FlareVQATask.decoding
        requests, parse, score = FlareVQATask.requests, FlareVQATask.parse, FlareVQATask.score

    with pytest.raises(HarnessError, match="lacks method '_score_csv' \\(abstract\\)"):
        check_task(Incomplete, plugin="x")


def test_datasets_are_the_core_cards_and_the_default_data_is_one_of_them():
    task = FlareVQATask()
    cards = task.datasets()
    assert all(isinstance(card, DataSetCard) for card in cards)
    assert [card.name for card in cards] == ["flare2025", "flare2026", "demo"]
    assert task.default_data in {card.hub_id for card in cards}
    assert FlareReportTask().datasets() == cards


@pytest.mark.parametrize("layout", ["flare2025", "flare2026"])
def test_write_demo_writes_the_demo_generators_files(tmp_path, layout):
    root = FlareReportTask().write_demo(tmp_path / "task", cases=3, seed=7, layout=layout)
    direct = generate_demo(tmp_path / "direct", cases=3, seed=7, layout=layout)
    files = sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(direct) for p in direct.rglob("*") if p.is_file())
    assert all((root / f).read_bytes() == (direct / f).read_bytes() for f in files)
    assert ("train/CT-RATE-Tr .json" in {f.as_posix() for f in files}) == (layout == "flare2025")


@pytest.mark.parametrize(
    ("options", "message"),
    [({"cases": 1}, "--cases 1: the demo set needs at least 2 cases"), ({"seed": -1}, "--seed -1: give a seed"),
     ({"layout": "flare2030"}, "--layout flare2030: use one of flare2025, flare2026"),
     ({"colour": "red"}, "unknown demo option\\(s\\) colour")],
)
def test_write_demo_refuses_bad_options_in_one_line(tmp_path, options, message):
    with pytest.raises(HarnessError, match=message):
        FlareVQATask().write_demo(tmp_path / "out", **{"cases": 2, "seed": 0, **options})
    assert not (tmp_path / "out").exists()


def test_write_demo_refuses_a_file_as_out(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(HarnessError, match="is a file; pass a folder"):
        FlareVQATask().write_demo(tmp_path / "f", cases=2, seed=0)


def test_preprocess_takes_the_cli_options_as_keywords(tmp_path):
    root = generate_demo(tmp_path / "demo", cases=2, seed=1)
    task = FlareVQATask()
    ((records, skipped),) = task.preprocess(None, out=tmp_path / "one", json=root / "validation" / "val.json",
                                            images=root / "validation" / "images", size=(4, 8, 8), progress=False)
    assert records == tmp_path / "one" / "val_processed.json" and skipped == []
    (case,) = json.loads(records.read_text())
    assert case["case_id"].endswith(".npy") and (tmp_path / "one" / case["case_id"]).is_file()
    done = task.preprocess(root, out=tmp_path / "all", split="validation", size=(4, 8, 8), workers=1,
                           float16=True, on_bad_case="skip", progress=False)
    assert [(p.relative_to(tmp_path / "all").as_posix(), errors) for p, errors in done] == [("validation/val.json", [])]


@pytest.mark.parametrize(
    ("data", "options", "message"),
    [("x", {"json": "a.json"}, "--data and --json/--images: pass one of them"),
     (None, {"json": "a.json"}, "pass --data DATA \\[--split S\\], or --json FILE with --images DIR"),
     (None, {"json": "a.json", "images": "i", "split": "train"}, "--split goes with --data"),
     ("x", {"resample": "linear"}, "unknown preprocess option\\(s\\) resample")],
)
def test_preprocess_refuses_mixed_options(tmp_path, data, options, message):
    with pytest.raises(HarnessError, match=message):
        FlareVQATask().preprocess(data, out=tmp_path / "out", **options)


def test_score_file_reads_a_report_csv_as_the_reference_scorer(tmp_path):
    judge = plugins.registry("judges").create("lexical")
    scores = FlareReportTask().score_file(REPORT_CSV, ground_truth=None, make_judge=lambda: judge,
                                          cache_dir=tmp_path)
    expected = score_reports(read_report_csv(REPORT_CSV), GreenScorer(judge, progress=False))
    assert scores["task"] == "flare_report" and scores["green"] == pytest.approx(expected["green"])
    assert scores["organs"] == pytest.approx(expected["organs"])
    assert any(tmp_path.iterdir())  # the judge's completions were cached where the core said


def test_score_file_reads_a_vqa_csv_with_its_ground_truth():
    expected = json.loads((FIXTURES / "flare_vqa" / "expected.json").read_text())
    scores = FlareVQATask().score_file(VQA_CSV, ground_truth=VQA_TRUTH, make_judge=no_judge, cache_dir=None)
    assert round(scores["global_accuracy"], 6) == expected["global_accuracy"]
    assert round(scores["local_accuracy"], 6) == expected["local_accuracy"]
    assert scores["local_separator"] == "|"
    old = FlareVQATask().score_file(VQA_CSV, ground_truth=VQA_TRUTH, make_judge=no_judge, cache_dir=None,
                                    local_separator=",")
    assert old["local_separator"] == ","


@pytest.mark.parametrize(
    ("task", "path", "options", "message"),
    [(FlareVQATask, REPORT_CSV, {}, "is a report \\(name, gt, generated\\) CSV, which scores as `harness score "
                                    "flare_report`, not flare_vqa"),
     (FlareReportTask, VQA_CSV, {}, "is a VQA .* CSV, which scores as `harness score flare_vqa`"),
     (FlareVQATask, VQA_CSV, {"ground_truth": None}, "flare_vqa predictions need --ground-truth FILE"),
     (FlareVQATask, Path("predictions.jsonl"), {"local_separator": ","}, "--score-option local_separator=, is for "
                                                                        "reference VQA CSV files"),
     (FlareVQATask, VQA_CSV, {"strict": "1"}, "unknown score option\\(s\\) strict")],
)
def test_score_file_refuses_in_one_line(task, path, options, message):
    kwargs = {"ground_truth": VQA_TRUTH, "make_judge": no_judge, "cache_dir": None, **options}
    with pytest.raises(HarnessError, match=message):
        task().score_file(path, **kwargs)


def test_score_file_leaves_the_harness_predictions_to_the_core():
    assert FlareVQATask().score_file(Path("run/predictions.jsonl"), ground_truth=None, make_judge=no_judge,
                                     cache_dir=None) is None


def test_ground_truth_loads_without_its_images(tmp_path):
    path = tmp_path / "val.json"
    path.write_text(json.dumps([RECORD]))
    (case,) = FlareVQATask().load_ground_truth(path)
    assert case.case_id == "amos_0008.nii.gz" and not case.image.exists()


def test_prompt_and_scoring_chains_differ_as_the_reference_scripts(case):
    """The prompt asks a root with its direct follow-ups; the scorer's chain has every question below it."""
    root = case.local_vqa[0]
    assert [q.id for q in prompt_chain(case, root)] == [1, 2]
    assert {r: [q.id for q in chain] for r, chain in scoring_chains(case).items()} == {1: [1, 2, 3], 4: [4]}
    assert [q.id for q in roots(case)] == [1, 4]


@pytest.mark.parametrize(
    ("path", "window"),
    [("train/CT-AMOS-1290/amos_0008.nii.gz", (-160.0, 240.0)), ("CT-RATE/train_1_a_1.nii.gz", (-1350.0, 150.0)),
     ("AMOS/case.nii.gz", (-1350.0, 150.0))],
)
def test_reference_window_is_the_reference_scripts_rule(path, window):
    assert reference_window(path) == window  # "amos" in the path, case-sensitive, as flare_preprocess.py


@pytest.mark.parametrize(
    ("case_id", "name"),
    [("amos_0008.nii.gz", "amos_0008.npy"), ("sub/a.nii", "sub/a.npy"), ("a.mha", "a.npy"), ("a", "a.npy")],
)
def test_preprocessed_names_drop_the_extension_as_the_case_ids_compare(case_id, name):
    assert output_name(case_id) == name and case_stem(name) == case_stem(case_id)


@pytest.mark.parametrize("case_id", ["amos_0008.nii.gz", "train_1_a_1.nii.gz"])
def test_every_request_carries_its_cases_domain_for_the_recipes_windows(case_id):
    chest = Case.from_json({**RECORD, "case_id": case_id})
    for name in ("flare_report", "flare_vqa"):
        task = plugins.registry("tasks").create(name)
        requests = task.requests(chest, style="chat", image_tokens="<im>", tokenizer=QwenStyleTokenizer())
        assert {r.domain for r in requests} == {chest.domain}
    assert chest.domain in REFERENCE_WINDOWS and chest.domain == ("abdomen" if "amos" in case_id else "chest")


def test_each_flare_concept_has_one_owner_module():
    """The windows' values, the follow-up walk and the image-extension rule are each written once."""
    package = Path(reference_window.__code__.co_filename).parent
    sources = {p.name: p.read_text(encoding="utf-8") for p in sorted(package.glob("*.py"))}

    def owners(*needles):
        return [name for name, text in sources.items() if any(n in text for n in needles)]

    assert owners("-1350.0", "-160.0") == ["windows.py"]
    assert owners("follow_up == -1", "follow_up != -1") == ["chains.py"]
    assert owners('".nii.gz"') == ["records.py"]
