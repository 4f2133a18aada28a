"""`hf`: a GREEN judge run with transformers, as green_score runs it.

Any causal LM by hub id or local path; the default is StanfordAIMI/GREEN-radllama2-7b, the judge the
FLARE 2025 organisers score with (StanfordAIMI/GREEN-RadPhi2 is a smaller GREEN model). As in
green_score: the tokenizer loads with ``add_eos_token=True`` and left padding, the pad token is the EOS
token, each prompt is rendered with GREEN's chat template (a human turn, an empty assistant turn and the
generation prompt), inputs are truncated to ``max_length`` tokens and decoding is greedy up to a total
length of ``max_length`` (2048). Weights load in float16 on a GPU (as green_score) and float32 on CPU
unless ``dtype`` says otherwise. Only the new tokens are decoded; `parse_completion` reads them exactly as
green_score reads prompt and completion decoded together (its cleaning keeps what follows the last
"<|assistant|>").

The judge id is ``hf:<model>@<revision>``: pin ``revision`` to a commit for a stable cache key.
"""

from __future__ import annotations

from typing import Any

from harness.errors import UnavailableError

DEFAULT_MODEL = "StanfordAIMI/GREEN-radllama2-7b"

GREEN_CHAT_TEMPLATE = (
    "{% for message in messages %}\n"
    "{% if message['from'] == 'human' %}\n"
    "{{ '<|user|>\n' + message['value'] + eos_token }}\n"
    "{% elif message['from'] == 'system' %}\n"
    "{{ '<|system|>\n' + message['value'] + eos_token }}\n"
    "{% elif message['from'] == 'gpt' %}\n"
    "{{ '<|assistant|>\n'  + message['value'] + eos_token }}\n"
    "{% endif %}\n"
    "{% if loop.last and add_generation_prompt %}\n"
    "{{ '<|assistant|>' }}\n"
    "{% endif %}\n"
    "{% endfor %}"
)
"""green_score's chat template, verbatim (the judge was fine-tuned on text rendered with it)."""


class HFJudge:
    """GREEN judge on a transformers causal LM. The model loads on the first `complete` call."""

    def __init__(self, model: str = DEFAULT_MODEL, revision: str | None = None, device: str | None = None,
                 dtype: str | None = None, batch_size: int = 8, max_length: int = 2048,
                 trust_remote_code: bool = False) -> None:
        self.model_name = str(model)
        self.revision = revision
        self.device = device
        self.dtype = dtype
        self.batch_size = int(batch_size)
        self.max_length = int(max_length)
        self.trust_remote_code = bool(trust_remote_code)
        self.id = f"hf:{self.model_name}@{revision or 'main'}"
        self._model: Any = None
        self._tokenizer: Any = None

    def _load(self) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = getattr(torch, self.dtype) if self.dtype else (torch.float16 if device != "cpu" else torch.float32)
        try:
            tokenizer = AutoTokenizer.from_pretrained(
                self.model_name, revision=self.revision, add_eos_token=True, use_fast=True,
                padding_side="left", trust_remote_code=self.trust_remote_code,
            )
            model = AutoModelForCausalLM.from_pretrained(
                self.model_name, revision=self.revision, dtype=dtype, trust_remote_code=self.trust_remote_code,
            )
        except (OSError, ValueError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UnavailableError(
                f"cannot load the GREEN judge model '{self.model_name}' ({reason}); it needs the Hugging Face "
                "Hub or a local copy (judge option model=PATH); offline, use `--judge lexical` "
                "(deterministic, not GREEN-calibrated)"
            ) from None
        tokenizer.chat_template = GREEN_CHAT_TEMPLATE
        tokenizer.pad_token = tokenizer.eos_token
        tokenizer.clean_up_tokenization_spaces = True
        tokenizer.padding_side = "left"
        self._tokenizer = tokenizer
        self._model = model.to(device).eval()

    def render(self, prompt: str) -> str:
        """The judge's input text for one GREEN prompt (GREEN's chat template with a generation prompt)."""
        if self._tokenizer is None:
            self._load()
        messages = [{"from": "human", "value": prompt}, {"from": "gpt", "value": ""}]
        return self._tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def complete(self, prompts: list[str]) -> list[str]:
        import torch

        out: list[str] = []
        for start in range(0, len(prompts), self.batch_size):
            texts = [self.render(p) for p in prompts[start:start + self.batch_size]]
            tok = self._tokenizer
            batch = tok(texts, return_tensors="pt", padding=True, truncation=True, max_length=self.max_length)
            batch = batch.to(self._model.device)
            with torch.inference_mode():
                generated = self._model.generate(
                    input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                    eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                    max_length=self.max_length, do_sample=False, temperature=None, top_p=None,
                )
            new_tokens = generated[:, batch["input_ids"].shape[1]:]
            out.extend(tok.batch_decode(new_tokens, skip_special_tokens=True))
        return out
