"""`hf`: a GREEN judge run with transformers, as green_score runs it.

Any causal LM by hub id or local folder; the default is StanfordAIMI/GREEN-radllama2-7b, the judge the
FLARE 2025 organisers score with (StanfordAIMI/GREEN-RadPhi2 is a smaller GREEN model). As green_score
0.0.12: the tokenizer loads with ``add_eos_token=True`` and left padding, the pad token is the EOS token,
each prompt is rendered with GREEN's chat template (a human turn, an empty assistant turn and the
generation prompt), decoding is greedy and ``max_length`` (2048) counts prompt and completion together.
Prompt and completion are decoded together, special tokens skipped, and the judge returns what follows
the last "<|assistant|>", which `parse_completion` cleans exactly as green_score cleans the whole text.
Weights load in float16 on a GPU (as green_score) and float32 on CPU unless ``dtype`` says otherwise.

Batching (option ``batching``):

- ``default``: the harness's prompts (deduplicated, cached) sorted by token length and generated in
  padded batches, each prompt with the budget it would have alone (``max_length`` minus its own length),
  each sequence stopped at EOS: the completions do not depend on which prompts share a batch.
- ``official``: each ``complete`` call is generated as green_score does it, in batches of ``batch_size``
  (8) in the given order, with ``max_length`` counting the left padding: a prompt gets ``max_length``
  minus the longest prompt *of its batch* as new tokens. The scorer sends the official script's batches,
  duplicates included, so the official figures can be certified exactly.

A prompt of ``max_length`` tokens or more (transformers and green_score raise on it, ending the run) is
not generated: its completion is `skipped_completion(reason)`, which scores 0 and is listed with its
reason in the scores (``judge_skipped``); the rest of the run goes on.

Fast-path variants (the `bench` area measures them): ``attn_implementation`` (``sdpa`` by default),
``cache_implementation`` (e.g. ``static``) and ``generation=continuous`` (transformers' continuous
batching, `generate_batch`). Every one of them gives the greedy tokens of plain ``generate``.

The judge id names everything that changes a completion: ``hf:<model>@<revision>`` (for a local folder
``@sha256:<digest of its weight files>``) then ``dtype``, ``max_length`` and ``batching``, and any variant
option that is not the default. `HFJudge.from_model` wraps a model and tokenizer already in memory;
`HFJudge.load` loads (idempotent), so a run can fail on a missing judge before it generates anything.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from harness import trust
from harness.errors import HarnessError, UnavailableError
from harness.options import parse_bool
from harness.scoring.green import skipped_completion

DEFAULT_MODEL = "StanfordAIMI/GREEN-radllama2-7b"
BATCHING = ("default", "official")
GENERATION = ("padded", "continuous")
ASSISTANT = "<|assistant|>"

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


def weights_digest(folder: Path) -> str:
    """sha256 over a local model folder's weight files (names and contents), for the judge id."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in (".safetensors", ".bin", ".pt", ".gguf"))
    if not files:
        raise HarnessError(f"judge model folder {folder} has no weight files (*.safetensors, *.bin)")
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def prepare_tokenizer(tokenizer: Any) -> Any:
    """green_score's tokenizer settings: its chat template, pad = EOS, left padding, tokenization spaces cleaned."""
    tokenizer.chat_template = GREEN_CHAT_TEMPLATE
    tokenizer.pad_token = tokenizer.eos_token
    tokenizer.clean_up_tokenization_spaces = True
    tokenizer.padding_side = "left"
    return tokenizer


class HFJudge:
    """GREEN judge on a transformers causal LM (see the module docstring for the options)."""

    def __init__(self, model: str = DEFAULT_MODEL, revision: str | None = None, device: str | None = None,
                 dtype: str | None = None, batch_size: int = 8, max_length: int = 2048,
                 trust_remote_code: bool = False, batching: str = "default", attn_implementation: str = "sdpa",
                 cache_implementation: str | None = None, generation: str = "padded",
                 max_new_tokens: int | None = None) -> None:
        from harness.runoptions import check_device

        check_device(device, option="--judge-option device=")  # before a model of several GB loads
        self.model_name = str(model)
        self.revision = revision
        self.device = device
        self.dtype = dtype
        self.batch_size = int(batch_size)
        self.max_length = int(max_length)
        self.trust_remote_code = parse_bool(trust_remote_code, name="trust_remote_code")
        if self.trust_remote_code:  # a judge option alone never switches remote code on
            trust.refuse("--judge-option trust_remote_code=true", "the judge model's own Python code")
        self.batching = str(batching)
        self.attn_implementation = str(attn_implementation)
        self.cache_implementation = cache_implementation
        self.generation = str(generation)
        self.max_new_tokens = None if max_new_tokens is None else int(max_new_tokens)
        """A cap on each completion's new tokens below what ``max_length`` leaves (None: no cap, as green_score)."""
        if self.max_new_tokens is not None and self.max_new_tokens < 1:
            raise HarnessError(f"hf judge option max_new_tokens={max_new_tokens}: give an integer >= 1")
        if self.batching not in BATCHING:
            raise HarnessError(f"hf judge option batching={batching!r}: choose one of {', '.join(BATCHING)}")
        if self.generation not in GENERATION:
            raise HarnessError(f"hf judge option generation={generation!r}: choose one of {', '.join(GENERATION)}")
        if self.batch_size < 1 or self.max_length < 2:
            raise HarnessError(f"hf judge needs batch_size >= 1 and max_length >= 2, got {batch_size}, {max_length}")
        if self.batching == "official" and (self.generation != "padded" or self.batch_size != 8):
            raise HarnessError("hf judge: batching=official reproduces green_score's padded batches of 8; "
                               "use it with generation=padded and batch_size=8")
        self._id: str | None = None
        self._model: Any = None
        self._tokenizer: Any = None

    @classmethod
    def from_model(cls, model: Any, tokenizer: Any, *, name: str | None = None, **options: Any) -> HFJudge:
        """A judge on a model and tokenizer already built (e.g. random weights for a benchmark).

        The tokenizer should be loaded as green_score loads it (``add_eos_token=True``); its GREEN settings
        (template, padding) are applied here. ``name`` stands for the model in the id."""
        judge = cls(model=name or getattr(model, "name_or_path", "") or type(model).__name__, **options)
        judge._model = model.eval()
        judge._tokenizer = prepare_tokenizer(tokenizer)
        judge._id = judge._make_id(f"{judge.model_name}@in-memory", _dtype_name(model.dtype))
        return judge

    @property
    def id(self) -> str:
        if self._id is None:
            local = Path(self.model_name)
            source = (f"{self.model_name}@sha256:{weights_digest(local)}" if local.is_dir()
                      else f"{self.model_name}@{self.revision or 'main'}")
            self._id = self._make_id(source, self._resolved_dtype())
        return self._id

    def _make_id(self, source: str, dtype: str) -> str:
        settings: dict[str, Any] = {"dtype": dtype, "max_length": self.max_length, "batching": self.batching}
        for key, value, default in (("attn", self.attn_implementation, "sdpa"),
                                    ("cache", self.cache_implementation, None),
                                    ("generation", self.generation, "padded"),
                                    ("max_new_tokens", self.max_new_tokens, None)):
            if value != default:
                settings[key] = value
        return f"hf:{source};" + ",".join(f"{k}={v}" for k, v in settings.items())

    def _resolved_device(self) -> str:
        import torch

        return self.device or ("cuda" if torch.cuda.is_available() else "cpu")

    def _resolved_dtype(self) -> str:
        return self.dtype or ("float16" if self._resolved_device() != "cpu" else "float32")

    def load(self) -> HFJudge:
        """Load tokenizer and model (once; later calls do nothing). A model that cannot load is one line."""
        if self._model is not None:
            return self
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        dtype = getattr(torch, self._resolved_dtype(), None)
        if not isinstance(dtype, torch.dtype):
            raise HarnessError(f"hf judge option dtype={self.dtype!r} is not a torch dtype (float16, bfloat16, ...)")
        if Path(self.model_name).is_dir():
            trust.check_folder(Path(self.model_name))
        try:
            tokenizer = AutoTokenizer.from_pretrained(
                self.model_name, revision=self.revision, add_eos_token=True, use_fast=True,
                padding_side="left", trust_remote_code=self.trust_remote_code,
            )
            model = AutoModelForCausalLM.from_pretrained(
                self.model_name, revision=self.revision, dtype=dtype, trust_remote_code=self.trust_remote_code,
                attn_implementation=self.attn_implementation,
            )
        except (OSError, ValueError, ImportError) as exc:
            if trust.is_remote_code_refusal(exc):
                trust.refuse(self.model_name, "its repository ships custom code")
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UnavailableError(
                f"cannot load the GREEN judge model '{self.model_name}' ({reason}); it needs the Hugging Face "
                "Hub or a local copy (judge option model=PATH); offline, use `--judge lexical` "
                "(deterministic, not GREEN-calibrated)"
            ) from None
        self._tokenizer = prepare_tokenizer(tokenizer)
        self._model = model.to(self._resolved_device()).eval()
        return self

    def render(self, prompt: str) -> str:
        """The judge's input text for one GREEN prompt (GREEN's chat template with a generation prompt)."""
        self.load()
        messages = [{"from": "human", "value": prompt}, {"from": "gpt", "value": ""}]
        return self._tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def encode(self, prompt: str) -> list[int]:
        """The input token ids of one prompt, as green_score's batch encoding gives them (without padding)."""
        return list(self._tokenizer(self.render(prompt))["input_ids"])

    def complete(self, prompts: list[str]) -> list[str]:
        self.load()
        ids = [self.encode(p) for p in prompts]
        out: list[str | None] = [None] * len(prompts)
        for index, row in enumerate(ids):
            if len(row) >= self.max_length:
                out[index] = skipped_completion(f"prompt is {len(row)} tokens, max_length is {self.max_length}")
        todo = [i for i in range(len(prompts)) if out[i] is None]
        if self.batching == "default":
            todo.sort(key=lambda i: (-len(ids[i]), i))  # similar lengths share a batch: less padding
        size = len(todo) if self.generation == "continuous" else self.batch_size  # continuous schedules itself
        batches = [todo[s:s + size] for s in range(0, len(todo), max(size, 1))]
        for batch in batches:
            rows = [ids[i] for i in batch]
            for i, new in zip(batch, self.generate_ids(rows), strict=True):
                out[i] = self._decode(ids[i], new)
        return [text or "" for text in out]

    def budgets(self, rows: list[list[int]]) -> list[int]:
        """New tokens each prompt may generate: official, ``max_length`` minus the batch's longest prompt;
        default, ``max_length`` minus its own length (what it gets alone)."""
        if self.batching == "official":
            budgets = [self.max_length - max(len(r) for r in rows)] * len(rows)
        else:
            budgets = [self.max_length - len(r) for r in rows]
        return budgets if self.max_new_tokens is None else [min(b, self.max_new_tokens) for b in budgets]

    def generate_ids(self, rows: list[list[int]]) -> list[list[int]]:
        """Greedy new token ids for each prompt's ids, cut at its budget and after its first EOS."""
        budgets = self.budgets(rows)
        if self.generation == "continuous":
            generated = self._generate_continuous(rows, max(budgets))
        else:
            generated = self._generate_padded(rows, max(budgets))
        eos = self._tokenizer.eos_token_id
        out = []
        for new, budget in zip(generated, budgets, strict=True):
            new = new[:budget]
            if eos in new:
                new = new[: new.index(eos) + 1]
            out.append(new)
        return out

    def _generate_padded(self, rows: list[list[int]], max_new_tokens: int) -> list[list[int]]:
        import torch

        tok = self._tokenizer
        width = max(len(r) for r in rows)
        pad = tok.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(r)) + r for r in rows], device=self._model.device)
        mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows], device=self._model.device)
        kwargs: dict[str, Any] = {}
        if self.cache_implementation:
            kwargs["cache_implementation"] = self.cache_implementation
        with torch.inference_mode():
            generated = self._model.generate(
                input_ids=input_ids, attention_mask=mask, eos_token_id=tok.eos_token_id, pad_token_id=pad,
                max_new_tokens=max_new_tokens, do_sample=False, temperature=None, top_p=None, top_k=None,
                **kwargs,
            )
        return [row.tolist() for row in generated[:, width:]]

    def _generate_continuous(self, rows: list[list[int]], max_new_tokens: int) -> list[list[int]]:
        import torch
        from transformers import GenerationConfig

        tok = self._tokenizer
        config = GenerationConfig(max_new_tokens=max_new_tokens, do_sample=False, eos_token_id=tok.eos_token_id,
                                  pad_token_id=tok.pad_token_id)
        with torch.inference_mode():
            results = self._model.generate_batch(inputs=rows, generation_config=config, progress_bar=False)
        ordered = list(results.values())  # transformers returns them in input order
        if len(ordered) != len(rows) or any(r.error is not None for r in ordered):
            raise RuntimeError(f"continuous batching finished {len(ordered)} of {len(rows)} judge prompts; "
                               "rerun with generation=padded")
        return [list(r.generated_tokens) for r in ordered]

    def _decode(self, prompt_ids: list[int], new_ids: list[int]) -> str:
        """Prompt and completion decoded together, as green_score does, then what follows the last
        "<|assistant|>" (green_score's cleaning keeps only that part)."""
        text = self._tokenizer.decode(prompt_ids + new_ids, skip_special_tokens=True)
        return text.split(ASSISTANT)[-1]


def _dtype_name(dtype: Any) -> str:
    return str(dtype).removeprefix("torch.")
