"""`finetune(cfg)`: one fine-tuning run on the HF Trainer (DeepSpeed, peft LoRA, checkpoints, resume).

    >>> from harness.training import finetune, resolve_run
    >>> cfg = resolve_run("MODEL", task="all", data="DATA", out_dir="runs/ft", overrides={"max_steps": 4})
    >>> finetune(cfg)                                                        # doctest: +SKIP

The same code runs on one CPU process, on one GPU, and under torchrun or the DeepSpeed launcher on
many GPUs and nodes (the Trainer reads RANK/WORLD_SIZE/MASTER_ADDR from the launcher). Checkpoints
(``OUT/checkpoint-N``) hold the trained weights, optimizer, scheduler, RNG and trainer state; ``--resume``
continues from the newest complete one (`harness.training.checkpoints`), and only a folder whose saved
fingerprint (`harness.training.fingerprint`) matches the command's settings. The data are read and
checked before the model is loaded. At the end the model is written to OUT in the harness layout, and
``OUT/training.json``, written last, marks the run finished.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from transformers import Trainer, TrainingArguments, set_seed

from harness.distributed import Distributed
from harness.errors import HarnessError
from harness.training import checkpoints, fingerprint
from harness.training.batchnorm import guard_batch_norm
from harness.training.checkpoints import TRAINED_STATE
from harness.training.config import TrainConfig, resolved_precision
from harness.training.csvlog import CsvLogCallback, truncate_log
from harness.training.parts import apply_lora, set_trainable
from harness.training.selection import TrainingTasks, select_tasks
from harness.training.zero import ensure_distributed_env, resolve_deepspeed, zero_stage

FINISHED = "training.json"
"""Written last by the final export: its presence means the run is finished."""


class HarnessTrainer(Trainer):
    """The HF Trainer, saving checkpoints as the trained tensors only (the frozen base is never copied) and
    reading them back on resume without DeepSpeed (DeepSpeed resumes from its own ``global_stepN`` files)."""

    def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
        if not self.args.should_save:
            return
        from harness.training.export import atomic_save_tensors, trained_tensors

        model = self.accelerator.unwrap_model(self.model)
        folder = Path(output_dir or self.args.output_dir)
        folder.mkdir(parents=True, exist_ok=True)
        state = state_dict if state_dict is not None else model.state_dict()
        atomic_save_tensors(trained_tensors(model, state), folder / TRAINED_STATE)

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model: torch.nn.Module | None = None) -> None:
        from safetensors.torch import load_file

        path = Path(resume_from_checkpoint) / TRAINED_STATE
        if not path.is_file():
            raise HarnessError(f"{path} is missing: {resume_from_checkpoint} is not a harness checkpoint")
        target = self.accelerator.unwrap_model(model if model is not None else self.model)
        result = target.load_state_dict(load_file(str(path)), strict=False)
        if result.unexpected_keys:
            raise HarnessError(
                f"{path} does not fit this model (e.g. {result.unexpected_keys[0]}): resume with the same "
                f"--model and LoRA settings"
            )


def training_arguments(cfg: TrainConfig, *, cuda: bool, deepspeed: dict[str, Any] | None) -> TrainingArguments:
    """TrainingArguments for the config; warmup is given as a ratio whichever transformers spells it."""
    import inspect

    precision = resolved_precision(cfg, cuda)
    report_to = [r for r in cfg.report_to if r != "csv"] or ["none"]
    kwargs: dict[str, Any] = dict(
        output_dir=cfg.out_dir,
        per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler,
        weight_decay=cfg.weight_decay,
        max_grad_norm=cfg.max_grad_norm,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        use_cpu=not cuda,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        logging_steps=cfg.logging_steps,
        report_to=report_to,
        seed=cfg.seed,
        data_seed=cfg.seed,
        dataloader_num_workers=cfg.num_workers,
        remove_unused_columns=False,
        deepspeed=deepspeed,
        ddp_backend="gloo" if not cuda and Distributed.from_env().world_size > 1 else None,
        disable_tqdm=not Distributed.from_env().is_main or not sys.stderr.isatty(),  # progress bars only on a terminal
        include_num_input_tokens_seen=True,
    )
    accepted = inspect.signature(TrainingArguments.__init__).parameters
    if "warmup_ratio" in accepted:
        kwargs["warmup_ratio"] = cfg.warmup_ratio
    else:  # transformers >= 5 reads a float below 1 as a ratio
        kwargs["warmup_steps"] = cfg.warmup_ratio
    # transformers >= 5 renames gradient checkpointing to activation checkpointing
    checkpointing = "activation_checkpointing" if "activation_checkpointing" in accepted else "gradient_checkpointing"
    kwargs[checkpointing] = cfg.gradient_checkpointing
    kwargs[f"{checkpointing}_kwargs"] = {"use_reentrant": False} if cfg.gradient_checkpointing else None
    return TrainingArguments(**kwargs)


def load_dtype(cfg: TrainConfig, *, cuda: bool, deepspeed: dict[str, Any] | None) -> torch.dtype:
    """DeepSpeed keeps float32 master weights itself, so the model loads in the compute dtype there;
    without it the weights stay float32 and bf16/fp16 run as autocast."""
    precision = resolved_precision(cfg, cuda)
    if deepspeed is not None and precision in {"bf16", "fp16"}:
        return torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.float32


def load_for_training(model_name: str, *, init: str, dtype: torch.dtype,
                      llm_options: dict[str, Any] | None = None) -> tuple[Any, Any]:
    """(model, tokenizer). ``init="weights"``: the model as `harness.load_model` gives it (trained weights
    when it has them); ``"base"``: the recipe's pretrained parts without its trained weights (a fresh
    vision tower and projector unless the recipe names pretrained ones)."""
    from harness.modeling import loading

    if init not in {"weights", "base"}:
        raise HarnessError(f"--init must be 'weights' or 'base', got '{init}'")
    if init == "base":
        if Path(model_name).is_dir():
            raise HarnessError("--init base needs a zoo model name; a checkpoint folder is always its own weights")
        recipe = loading.resolve_recipe(model_name, weights=None, local_weights=None,
                                        llm_options=llm_options or {})
        model = loading.load_recipe(recipe, dtype)
    else:
        model = loading.load_model(model_name, dtype=dtype, llm_options=llm_options)
    return model, loading.load_tokenizer(model_name, llm_options=llm_options)


def training_tasks(cfg: TrainConfig) -> TrainingTasks:
    """The tasks of ``cfg.task`` and the cases of ``cfg.data``'s ``cfg.split``, read and validated before any model
    is loaded (`harness.training.selection`)."""
    chosen = select_tasks(cfg.task, cfg.data, split=cfg.split)
    if not chosen.data.cases:
        raise HarnessError(f"--data {cfg.data} has no cases in split '{cfg.split}': check --data and --split")
    return chosen


def build_dataset(cfg: TrainConfig, model: Any, tokenizer: Any, chosen: TrainingTasks | None = None,
                  say: Callable[[str], None] = print) -> Any:
    """The training set of ``cfg.task`` over ``cfg.data``'s ``cfg.split``: every task's samples, mixed."""
    from harness.training.dataset import FinetuneDataset
    from harness.training.samples import build_slots

    recipe = model.config.get_recipe()
    chosen = chosen if chosen is not None else training_tasks(cfg)
    cases = chosen.data.cases
    image_tokens = recipe.image_token * int(model.num_image_tokens)
    slots, left_out = build_slots(cases, chosen.tasks, style=recipe.prompt_style, image_tokens=image_tokens,
                                  tokenizer=tokenizer, leave_out_untrainable=chosen.every_installed)
    for name in left_out:
        say(f"task {name} gives no training targets: left out of --task all")
    return FinetuneDataset(
        slots, cases, tokenizer, input_size=recipe.input_size, max_length=cfg.max_length,
        hu_windows=recipe.hu_windows, augment=cfg.augment, sample_draw=cfg.sample_draw, seed=cfg.seed,
    )


def check_out_dir(cfg: TrainConfig, wanted: dict[str, Any], *, world: int, deepspeed: bool,
                  say: Callable[[str], None]) -> Path | None | bool:
    """What ``--out`` allows: the checkpoint to resume from, ``None`` to start at step 0, or ``False`` when the
    saved run is finished. Refuses (one line) to train over another run, to resume a folder this harness did
    not create or one trained with other settings."""
    out = Path(cfg.out_dir)
    if out.exists() and not out.is_dir():
        raise HarnessError(f"--out {out} is a file: give a folder for the checkpoints and the final model")
    found = checkpoints.checkpoints(out)
    finished = (out / FINISHED).is_file()
    if not cfg.resume:
        if finished:
            raise HarnessError(f"{out} holds a finished fine-tuned model: choose another --out (or train it further "
                               f"with --model {out})")
        if found:
            raise HarnessError(f"{out} already holds {found[0][1].name}: pass --resume to continue it, or choose "
                               f"another --out")
        return None
    saved = fingerprint.read_fingerprint(out)
    if saved is None:
        if found or finished:
            raise HarnessError(f"--resume: {out} has no {fingerprint.FINGERPRINT}, so `harness finetune` did not "
                               f"create it; resuming unpickles its optimizer states, so only such folders are resumed")
        say(f"no checkpoint in {out} yet: starting from step 0")
        return None
    fingerprint.check_same_run(out, saved, wanted)
    if finished:
        say(f"{out} is a finished run (its final model and {FINISHED} are written): nothing to resume")
        return False
    checkpoint, skipped = checkpoints.newest_complete(out, world=world, deepspeed=deepspeed)
    if skipped:
        names = ", ".join(f"{name} ({why})" for name, why in skipped)
        target = checkpoint.name if checkpoint is not None else "step 0"
        say(f"warning: incomplete checkpoint(s) {names} set aside as .incomplete-*: resuming from {target}")
        if Distributed.from_env().is_main:
            for name, _why in skipped:
                checkpoints.set_aside(out / name)
    elif checkpoint is None:
        say(f"no checkpoint in {out} yet: starting from step 0")
    return checkpoint


def trained_out(checkpoint: Path) -> dict[str, Any] | None:
    """The checkpoint's trainer state when it is the run's last step (``global_step >= max_steps``), else None."""
    import json

    state = json.loads((checkpoint / "trainer_state.json").read_text())  # checked complete before
    steps, last = state.get("global_step", 0), state.get("max_steps", 0)
    return state if last and steps >= last else None


def finetune(cfg: TrainConfig, *, init: str = "weights", log: Callable[[str], None] = print) -> Path:
    """Train, checkpoint, and write the final model into ``cfg.out_dir``; returns that folder."""
    from harness.training.export import export_final
    from harness.training.summary import describe

    cuda = torch.cuda.is_available()
    deepspeed = resolve_deepspeed(cfg.deepspeed, cuda=cuda)
    if deepspeed is not None:
        ensure_distributed_env()
    place = Distributed.from_env()  # after ensure_distributed_env, which describes a world of one when unlaunched
    say = log if place.is_main else (lambda _message: None)
    chosen = training_tasks(cfg)  # --data and --task are checked before the model loads (or downloads)
    wanted = fingerprint.run_fingerprint(cfg, init=init, tasks=chosen.names, cases=chosen.data.cases,
                                         world=place.world_size, precision=resolved_precision(cfg, cuda),
                                         zero_stage=zero_stage(deepspeed))
    checkpoint = check_out_dir(cfg, wanted, world=place.world_size, deepspeed=deepspeed is not None, say=say)
    if checkpoint is False:
        return Path(cfg.out_dir)
    set_seed(cfg.seed)
    model, tokenizer = load_for_training(cfg.model, init=init, dtype=load_dtype(cfg, cuda=cuda, deepspeed=deepspeed),
                                         llm_options=cfg.llm_options)
    model.config.use_cache = False
    dataset = build_dataset(cfg, model, tokenizer, chosen, say=say)
    if cfg.lora:
        model = apply_lora(model, r=cfg.lora_r, alpha=cfg.lora_alpha, dropout=cfg.lora_dropout)
    set_trainable(model, cfg.trainable, lora=cfg.lora)
    guard_batch_norm(model, batch_size=cfg.batch_size)
    say(describe(cfg, model=model, cuda=cuda, deepspeed=deepspeed, world=place.world_size,
                 samples=dataset.scope_counts()))
    if checkpoint is not None:
        say(f"resuming from {checkpoint}")

    from harness.training.dataset import EpochCallback
    from harness.training.encoding import Collator, pad_token_id

    log_path = Path(cfg.out_dir) / "train_log.csv"
    seconds_before = 0.0
    if place.is_main:  # the folder is this run's from here on
        fingerprint.write_fingerprint(cfg.out_dir, wanted)
        resumed_step = int(checkpoint.name.rsplit("-", 1)[1]) if checkpoint is not None else 0
        seconds_before = truncate_log(log_path, resumed_step)

    trainer = HarnessTrainer(
        model=model,
        args=training_arguments(cfg, cuda=cuda, deepspeed=deepspeed),
        train_dataset=dataset,
        data_collator=Collator(pad_token_id(tokenizer)),
        callbacks=[CsvLogCallback(log_path, seconds_before=seconds_before), EpochCallback(dataset)],
    )
    done = trained_out(checkpoint) if checkpoint is not None else None
    if done is not None:  # killed while exporting: the Trainer would run one step past the end, so only export
        say(f"{checkpoint.name} is the run's last step: writing the final model from it without training")
        trainer._load_from_checkpoint(str(checkpoint))
        trainer.state.global_step = done["global_step"]
        metrics = {"num_input_tokens_seen": done.get("num_input_tokens_seen"), "exported_from": checkpoint.name}
        zero3 = False  # the model was loaded whole, not partitioned: the DeepSpeed engine never started
    else:
        result = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint is not None else None)
        metrics = {**result.metrics, "num_input_tokens_seen": trainer.state.num_input_tokens_seen}
        zero3 = zero_stage(deepspeed) == 3
    metrics["world_size"] = place.world_size
    if cuda:
        metrics["peak_memory_gib"] = torch.cuda.max_memory_allocated() / 2**30
    export_final(trainer, tokenizer, cfg, metrics=metrics, zero3=zero3)
    say(f"trained {trainer.state.global_step} steps; model written to {cfg.out_dir}")
    return Path(cfg.out_dir)
