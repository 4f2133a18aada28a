"""The tasks' prompts and GREEN-shaped judge inputs, rendered by the real templates, tokenised without any download.

No tokenizer of the measured models is available offline, so `bench_tokenizer`
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
"""The ChatML chat format (without a default system message: the tasks' prompts bring their own)."""

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
def bench_tokenizer(vocab_size: int, image_token: str = IMAGE_TOKEN) -> Any:
    """A fast tokenizer with ``vocab_size`` ids: the special tokens, then placeholders; the image token is the last
    id, as a recipe without an ``image_token_id`` places it. Every ordinary piece reads as ``<unk>``: only
    lengths matter here."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {name: i for i, name in enumerate(SPECIALS)}
    vocab.update({f"<t{i}>": i for i in range(len(SPECIALS), vocab_size - 1)})
    vocab[image_token] = vocab_size - 1
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(PIECE), behavior="isolated")
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", eos_token="<|im_end|>",
                                        pad_token="<|endoftext|>",
                                        additional_special_tokens=[*SPECIALS[1:4], image_token])
    tokenizer.chat_template = CHATML_TEMPLATE
    tokenizer.padding_side = "left"
    return tokenizer


def report_text(rng: random.Random, words: int) -> str:
    """A findings text of about ``words`` words, sentences drawn from `SENTENCES`."""
    out: list[str] = []
    while sum(len(s.split()) for s in out) < words:
        out.append(rng.choice(SENTENCES))
    return " ".join(out)


def task_prompts(tasks: Any, tokenizer: Any, *, image_tokens: int, style: str,
                 image_token: str = IMAGE_TOKEN) -> dict[str, list[list[int]]]:
    """Token ids of each bench task's requests of its bench case (`harness.bench.workload.TaskWorkload`),
    rendered by the task itself in the model's prompt ``style`` with ``image_tokens`` placeholders."""
    placeholders = image_token * image_tokens
    out: dict[str, list[list[int]]] = {}
    for work in tasks:
        requests = work.task.requests(work.case, style=style, image_tokens=placeholders, tokenizer=tokenizer)
        out[work.name] = [tokenizer(r.prompt, add_special_tokens=False)["input_ids"] for r in requests]
    return out


def green_prompts(n: int, seed: int = 0) -> list[str]:
    """``n`` GREEN prompts (the real template) comparing report-length texts, so that rendered prompts
    fall in about 600-900 tokens, as judged CT findings do."""
    from harness.scoring.green import make_prompt

    rng = random.Random(seed)
    return [make_prompt(report_text(rng, rng.randint(40, 130)), report_text(rng, rng.randint(40, 130)))
            for _ in range(n)]
