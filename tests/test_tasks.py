"""FLARE task plugins: prompts exactly as the published Med3DVLM code builds them, parsing, targets."""

from __future__ import annotations

import pytest

from harness import plugins
from harness.errors import HarnessError
from harness_plugins.tasks.flare.records import Case


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
