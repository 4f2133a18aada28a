"""Batched generation for the run loop: requests in, batches of images + prompts through the model, parsed
predictions out (`batches` -> `Generator.generate` -> `Generator.generate_all`).

Prompts are tokenised with left padding so every row's new tokens start at the same position; the
model's splice counts from each row's first real token, so a batch gives the same tokens as one request
at a time. The vision tower runs once per distinct volume of a batch (a case's VQA questions share one),
and ``cache_implementation`` (e.g. ``"static"``) selects the KV cache transformers' ``generate`` uses.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.errors import HarnessError
from harness.predictions import PredictionStore
from harness.recipe import Recipe
from harness.task import Prediction, Request


def batches(requests: Sequence[Request], size: int) -> Iterator[list[Request]]:
    """Consecutive batches of at most ``size`` requests with the same decoding options (they share one
    generate call)."""
    batch: list[Request] = []
    for request in requests:
        if batch and (len(batch) == size or batch[0].decoding != request.decoding):
            yield batch
            batch = []
        batch.append(request)
    if batch:
        yield batch


def resolve_device(device: str | None) -> str:
    import torch

    if device:
        return device
    if not torch.cuda.is_available():
        return "cpu"
    local_rank = os.environ.get("LOCAL_RANK")  # under torchrun each process takes its own GPU
    return f"cuda:{local_rank}" if local_rank is not None else "cuda"


def resolve_dtype(dtype: str | None, device: str) -> str:
    """The dtype name a run uses: as asked, else bfloat16 on GPU and float32 on CPU."""
    from harness.modeling.loading import parse_dtype

    if dtype is None:
        return "bfloat16" if device.startswith("cuda") else "float32"
    return str(parse_dtype(dtype)).removeprefix("torch.")


@dataclass
class Generator:
    model: Any
    tokenizer: Any
    recipe: Recipe
    device: str
    dtype_name: str
    on_bad_case: str = "error"
    seed: int | None = None
    image_cache_size: int = 16
    """Prepared volumes kept in memory: a VQA case's questions reuse its image across batches."""
    cache_implementation: str | None = None
    """KV cache of ``generate``: None (dynamic) or a transformers name such as ``"static"``; same tokens."""
    _images: OrderedDict = field(default_factory=OrderedDict, repr=False)

    @classmethod
    def load(cls, name_or_path: str, *, device: str | None = None, dtype: str | None = None,
             on_bad_case: str = "error", seed: int | None = None,
             llm_options: dict[str, Any] | None = None, cache_implementation: str | None = None) -> Generator:
        import torch

        from harness.modeling.loading import load_model, load_tokenizer, resolve_source

        if on_bad_case not in ("error", "skip"):
            raise HarnessError(f"--set on_bad_case= takes 'error' or 'skip', got '{on_bad_case}'")
        device = resolve_device(device)
        dtype_name = resolve_dtype(dtype, device)
        source = resolve_source(name_or_path, llm_options=llm_options)  # once: model and tokenizer agree
        tokenizer = load_tokenizer(source)
        model = load_model(source, dtype=getattr(torch, dtype_name), device=device)
        model.eval()
        tokenizer.padding_side = "left"
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        return cls(model, tokenizer, model.config.get_recipe(), device, dtype_name, on_bad_case, seed,
                   cache_implementation=cache_implementation)

    @property
    def image_tokens(self) -> str:
        return self.recipe.image_token * int(self.model.num_image_tokens)

    def model_info(self, requested: str) -> dict[str, Any]:
        recipe = self.recipe
        info = {
            "name": recipe.name or requested,
            "requested": requested,
            "encoder": recipe.encoder,
            "projector": recipe.projector,
            "llm": recipe.llm_options.get("model_id", recipe.llm),
            "splice": recipe.splice,
            "prompt_style": recipe.prompt_style,
            **weights_identity(requested, recipe),
        }
        return info

    def _image(self, request: Request) -> Any:
        from harness.data import prepare_image

        if request.image is None:
            raise HarnessError(f"case '{request.case_id}' has no image path")
        key = (str(request.image), request.domain)
        if key not in self._images:
            self._images[key] = prepare_image(request.image, input_size=self.recipe.input_size,
                                              hu_windows=self.recipe.hu_windows, domain=request.domain)
            if len(self._images) > self.image_cache_size:
                self._images.popitem(last=False)
        self._images.move_to_end(key)
        return self._images[key]

    def generate_all(self, task: Any, requests: Sequence[Request], store: PredictionStore, *, batch_size: int,
                     progress: bool = True) -> dict[str, str]:
        """Generate ``requests`` batch by batch, appending each batch's parsed predictions to ``store``;
        returns the cases left out because their image cannot be read (case id -> reason; only with
        ``on_bad_case="skip"``: otherwise the first one stops the run)."""
        from tqdm.auto import tqdm

        bad_cases: dict[str, str] = {}
        with tqdm(total=len(requests), desc=f"{task.name}", unit="req", disable=not progress,
                  dynamic_ncols=True) as bar:
            for batch in batches(requests, max(1, batch_size)):
                usable, images = self._load_batch(batch, bad_cases)
                if usable:
                    texts = self.generate(usable, images)
                    store.append(Prediction(r.key, r.case_id, r.scope, r.question_id, r.question,
                                            task.parse(r, text), text, r.target)
                                 for r, text in zip(usable, texts, strict=True))
                bar.update(len(batch))
        return bad_cases

    def _load_batch(self, batch: list[Request], bad_cases: dict[str, str]) -> tuple[list[Request], list[Any]]:
        """The requests whose image can be read, with their images; an unreadable image stops the run, or
        with ``on_bad_case="skip"`` is added to ``bad_cases`` and its case's requests left out."""
        usable, images = [], []
        for request in batch:
            if request.case_id in bad_cases:
                continue
            try:
                images.append(self._image(request))
            except HarnessError as exc:
                if self.on_bad_case == "error":
                    raise HarnessError(f"{exc} (rerun with --on-bad-case skip to skip bad cases)") from exc
                bad_cases[request.case_id] = str(exc)
                continue
            usable.append(request)
        return usable, images

    def generate(self, batch: Sequence[Request], images: Sequence[Any]) -> list[str]:
        import torch

        distinct = {id(image): image for image in images}  # `_image` returns one cached object per volume
        slot = {key: i for i, key in enumerate(distinct)}
        rows = [slot[id(image)] for image in images]
        pixels = torch.stack(list(distinct.values())).to(self.device, getattr(torch, self.dtype_name))
        encoded = self.tokenizer([r.prompt for r in batch], return_tensors="pt", padding=True)
        decoding = dict(batch[0].decoding)
        if self.cache_implementation:
            decoding.setdefault("cache_implementation", self.cache_implementation)
        if self.seed is not None:
            torch.manual_seed(int(self.seed))
        with torch.inference_mode():
            features = self.model.encode_images(pixels)[torch.tensor(rows, device=pixels.device)]
            new_tokens = self.model.generate(
                input_ids=encoded["input_ids"].to(self.device),
                attention_mask=encoded["attention_mask"].to(self.device),
                image_features=features,
                pad_token_id=self.tokenizer.pad_token_id,
                **decoding,
            )
        return self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)


def weights_identity(requested: str, recipe: Recipe) -> dict[str, str]:
    """Which weights a result was measured with: a local folder's sha256, or a hub id and revision."""
    from pathlib import Path

    from harness.provenance import sha256_files
    from harness.recipe import resolve_path

    local = Path(requested)
    shipped = resolve_path(recipe.local_weights)
    if local.is_dir():
        files = sorted(local.rglob("*.safetensors"))
        return {"weights": str(local), "sha256": sha256_files(files) if files else "none"}
    if recipe.weights:
        return {"weights": recipe.weights, "revision": recipe.revision or "main"}
    if shipped is not None and shipped.is_dir():
        files = sorted(shipped.rglob("*.safetensors"))
        return {"weights": f"shipped with med3d-harness: {shipped.name}", "sha256": sha256_files(files)}
    return {"weights": f"{recipe.llm} base weights; untrained vision tower and projector", "revision": "untrained"}
