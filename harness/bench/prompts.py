"""FLARE- and GREEN-shaped inputs, rendered by the real templates, tokenised without any download.

No tokenizer of the measured models is available offline (Qwen2.5's, Llama-2's), so `bench_tokenizer`
builds one with the `tokenizers` library: ChatML and GREEN chat templates, a word-piece split that gives
about as many tokens as a byte-level BPE on English radiology text (pieces of at most eight letters, a
leading space kept, each digit and punctuation mark alone), and the vocabulary size of the model it feeds.
Only lengths and shapes matter for speed; the token lengths used are reported with every figure.
"""

from __future__ import annotations

import random
from typing import Any

PIECE = r" ?[A-Za-z]{1,8}| ?[0-9]| ?[^\sA-Za-z0-9]|\s+"
SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "</s>", "<unk>")
IMAGE_TOKEN = "<im_patch>"
CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
"""Qwen2.5's chat format (its default system message aside: FLARE prompts always bring their own)."""

SENTENCES = (
    "The liver is normal in size and attenuation without focal lesion.",
    "There is a 2.3 cm hypodense lesion in segment VII of the liver, likely a simple cyst.",
    "The gallbladder is distended with multiple calcified gallstones, no wall thickening.",
    "The spleen is enlarged, measuring 14.8 cm in craniocaudal dimension.",
    "The pancreas is atrophic with a dilated main pancreatic duct measuring 5 mm.",
    "Both kidneys enhance symmetrically; a 1.1 cm cortical cyst is seen in the left kidney.",
    "Mild right hydronephrosis without an obstructing calculus.",
    "The adrenal glands are unremarkable.",
    "The abdominal aorta is of normal caliber with scattered atherosclerotic calcifications.",
    "Several mildly enlarged retroperitoneal lymph nodes, the largest 1.4 cm in short axis.",
    "Small amount of free fluid in the pelvis; no free air.",
    "Bilateral small pleural effusions with adjacent compressive atelectasis.",
    "The urinary bladder is partially distended and unremarkable.",
    "Degenerative changes of the lumbar spine without aggressive osseous lesion.",
)
CONDITIONS = (
    "hydronephrosis", "cardiomegaly", "lymphadenopathy", "kidney_stone", "fatty_liver", "adrenal_hyperplasia",
    "atelectasis", "gallstone", "splenomegaly", "pleural_effusion", "ascites", "aortic_aneurysm", "splenic_cyst",
    "adrenal_nodule", "emphysema", "lung_nodule", "bile_duct_stone", "hepatic_cyst", "hiatal_hernia", "renal_cyst",
)


def bench_tokenizer(vocab_size: int) -> Any:
    """A fast tokenizer with ``vocab_size`` ids: the special tokens, then placeholders; ``<im_patch>`` is the last
    id, as the zoo recipes place it. Every ordinary piece reads as ``<unk>``: only lengths matter here."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {name: i for i, name in enumerate(SPECIALS)}
    vocab.update({f"<t{i}>": i for i in range(len(SPECIALS), vocab_size - 1)})
    vocab[IMAGE_TOKEN] = vocab_size - 1
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(PIECE), behavior="isolated")
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", eos_token="<|im_end|>",
                                        pad_token="<|endoftext|>",
                                        additional_special_tokens=[*SPECIALS[1:4], IMAGE_TOKEN])
    tokenizer.chat_template = CHATML_TEMPLATE
    tokenizer.padding_side = "left"
    return tokenizer


def report_text(rng: random.Random, words: int) -> str:
    """A findings text of about ``words`` words, sentences drawn from `SENTENCES`."""
    out: list[str] = []
    while sum(len(s.split()) for s in out) < words:
        out.append(rng.choice(SENTENCES))
    return " ".join(out)


def flare_case(questions: int, seed: int = 0) -> Any:
    """A FLARE validation-shaped case: findings, one multi-label global question with 20 choices, other
    global questions, and local chains (root + two follow-ups), ``questions`` VQA requests in all."""
    from harness_plugins.tasks.flare.records import Case, GlobalQuestion, LocalQuestion

    rng = random.Random(seed)
    findings = {organ: report_text(rng, 18) for organ in ("liver", "gallbladder", "spleen", "pancreas", "kidney")}
    global_vqa = [GlobalQuestion("Which of the following conditions are present in this scan? (Select all that "
                                 "apply, leave empty if none)", ["renal_cyst"], list(CONDITIONS))]
    local_vqa: list[LocalQuestion] = []
    n_local = max(0, questions - 1) // 2
    for i in range(n_local):
        root = 10 * i
        local_vqa += [
            LocalQuestion(root, -1, "Is there a lesion in the liver?", "yes", "yes_no", ["yes", "no"]),
            LocalQuestion(root + 1, root, "In which segment is the lesion located?", "VII", "choice",
                          ["I", "II", "III", "IV", "V", "VI", "VII", "VIII"]),
            LocalQuestion(root + 2, root, "What is the largest diameter of the lesion in cm?", "2.3"),
        ]
    while len(global_vqa) + n_local < questions:
        global_vqa.append(GlobalQuestion("Is the spleen enlarged?", ["yes"], ["yes", "no"]))
    return Case("bench_0001.nii.gz", findings=findings, global_vqa=global_vqa, local_vqa=local_vqa)


def flare_prompts(tokenizer: Any, *, image_tokens: int, vqa_per_case: int) -> dict[str, list[list[int]]]:
    """Token ids of one case's report prompt and its VQA prompts, rendered by the ``flare_report`` and
    ``flare_vqa`` task plugins in the published ``med3dvlm`` style."""
    from harness import plugins

    case = flare_case(vqa_per_case)
    placeholders = IMAGE_TOKEN * image_tokens
    out: dict[str, list[list[int]]] = {}
    for kind, task_name in (("report", "flare_report"), ("vqa", "flare_vqa")):
        task = plugins.registry("tasks").create(task_name)
        requests = task.requests(case, style="med3dvlm", image_tokens=placeholders, tokenizer=tokenizer)
        out[kind] = [tokenizer(r.prompt, add_special_tokens=False)["input_ids"] for r in requests]
    return out


def green_prompts(n: int, seed: int = 0) -> list[str]:
    """``n`` GREEN prompts (the real template) comparing report-length texts, so that rendered prompts
    fall in about 600-900 tokens as FLARE's findings do."""
    from harness.scoring.green import make_prompt

    rng = random.Random(seed)
    return [make_prompt(report_text(rng, rng.randint(40, 130)), report_text(rng, rng.randint(40, 130)))
            for _ in range(n)]
