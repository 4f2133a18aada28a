"""End-to-end fine-tuning of a tiny model (tests/fixtures/training/tiny_vlm_plugin.py) on the demo data.

- in-process, no DeepSpeed: train, checkpoint, resume (harness checkpoint files), merged and adapter exports;
- CI's check: two CPU processes under torchrun with ZeRO-2 (gloo), loss falls, ``--resume`` continues from the
  saved step.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from harness import plugins
from harness.training.csvlog import read_log

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "training"


@pytest.fixture(scope="module")
def tiny_env(tmp_path_factory: pytest.TempPathFactory):
    """The tiny plugin importable and loaded (here and in subprocesses), its tokenizer trained, demo data made."""
    root = tmp_path_factory.mktemp("tiny")
    saved = {k: os.environ.get(k) for k in ("HARNESS_PLUGINS", "TINY_VLM_DIR", "PYTHONPATH", "HARNESS_CACHE")}
    os.environ["HARNESS_PLUGINS"] = "tiny_vlm_plugin"
    os.environ["TINY_VLM_DIR"] = str(root / "tokenizer")
    os.environ["HARNESS_CACHE"] = str(root / "cache")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(FIXTURE), saved["PYTHONPATH"]]))
    sys.path.insert(0, str(FIXTURE))
    plugins.reset()
    import tiny_vlm_plugin

    from harness_plugins.tasks.flare.demo import generate_demo

    tiny_vlm_plugin.ensure_tokenizer()
    data = generate_demo(root / "data", cases=6, seed=11)
    try:
        yield {"root": root, "data": str(data)}
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        sys.path.remove(str(FIXTURE))
        plugins.reset()


def _state(out: Path, step: int) -> dict:
    return json.loads((out / f"checkpoint-{step}" / "trainer_state.json").read_text())


def _tensors(path: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(path))


@pytest.mark.slow
def test_a_torn_resume_reproduces_the_uninterrupted_run_bit_for_bit(tiny_env, tmp_path: Path):
    """Augmentation on: interrupted (newest checkpoint torn) + resumed == uninterrupted, in weights and log."""
    import harness
    from harness.errors import HarnessError
    from harness.training import finetune, resolve_run

    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    settings = {"save_steps": 2, "logging_steps": 1, "gradient_checkpointing": True, "augment": True,
                "max_steps": 4, "batch_size": 2}
    messages: list[str] = []
    finetune(resolve_run("tiny-vlm", task="all", data=tiny_env["data"], out_dir=str(whole), overrides=settings))
    first = read_log(whole / "train_log.csv")
    assert [int(r["step"]) for r in first] == [1, 2, 3, 4]

    shutil.copytree(whole, resumed)
    (resumed / "training.json").unlink()  # as if killed while saving checkpoint-4: its trainer_state.json torn
    state = resumed / "checkpoint-4" / "trainer_state.json"
    state.write_text(state.read_text()[:40])
    cfg = resolve_run("tiny-vlm", task="all", data=tiny_env["data"], out_dir=str(resumed), overrides=settings,
                      resume=True)
    from harness.training.trainer import finetune as run

    run(cfg, log=messages.append)
    assert any("checkpoint-4 (trainer_state.json is torn)" in m and "resuming from checkpoint-2" in m
               for m in messages), messages
    assert (resumed / ".incomplete-checkpoint-4").is_dir()  # set aside, not deleted
    again = read_log(resumed / "train_log.csv")
    assert [int(r["step"]) for r in again] == [1, 2, 3, 4]  # cut back to step 2, then 3 and 4 once each
    assert [(r["loss"], r["grad_norm"], r["learning_rate"]) for r in again] == \
        [(r["loss"], r["grad_norm"], r["learning_rate"]) for r in first]
    want, got = _tensors(whole / "model.safetensors"), _tensors(resumed / "model.safetensors")
    assert want.keys() == got.keys() and all(torch.equal(want[k], got[k]) for k in want)

    # killed while exporting the final model: the resume writes it from the last checkpoint, training no step more
    exporting = tmp_path / "exporting"
    shutil.copytree(whole, exporting)
    (exporting / "training.json").unlink()
    (exporting / "model.safetensors").unlink()
    messages.clear()
    run(resolve_run("tiny-vlm", task="all", data=tiny_env["data"], out_dir=str(exporting), overrides=settings,
                    resume=True), log=messages.append)
    assert any("checkpoint-4 is the run's last step" in m for m in messages), messages
    assert [int(r["step"]) for r in read_log(exporting / "train_log.csv")] == [1, 2, 3, 4]
    got = _tensors(exporting / "model.safetensors")
    assert not (exporting / "checkpoint-5").exists() and all(torch.equal(want[k], got[k]) for k in want)

    # a finished run says so and changes nothing; without --resume it is refused
    before = {p: p.read_bytes() for p in whole.rglob("*") if p.is_file()}
    messages.clear()
    run(resolve_run("tiny-vlm", task="all", data=tiny_env["data"], out_dir=str(whole), overrides=settings,
                    resume=True), log=messages.append)
    assert any("is a finished run" in m for m in messages), messages
    assert before == {p: p.read_bytes() for p in whole.rglob("*") if p.is_file()}
    with pytest.raises(HarnessError, match="finished fine-tuned model"):
        finetune(resolve_run("tiny-vlm", task="all", data=tiny_env["data"], out_dir=str(whole), overrides=settings))
    with pytest.raises(HarnessError, match=r"max_steps: 4 then, 6 now"):
        finetune(resolve_run("tiny-vlm", task="all", data=tiny_env["data"], out_dir=str(whole),
                             overrides={**settings, "max_steps": 6}, resume=True))

    model = harness.load_model(str(whole))  # the harness layout: config.json with the recipe, merged weights
    assert model.config.recipe["name"] == "whole"  # its own name (the folder's), not the base recipe's
    assert model.config.recipe["finetuned_from"] == "tiny-vlm"
    ids = torch.tensor([[5, 6] + [model.config.image_token_id] * model.num_image_tokens + [7, 8]])
    logits = model(input_ids=ids, images=torch.rand(1, 1, 32, 64, 64)).logits
    assert logits.shape[:2] == ids.shape and torch.isfinite(logits).all()


@pytest.mark.slow
def test_the_model_card_names_the_model_its_base_and_its_training(tiny_env, tmp_path: Path):
    from huggingface_hub import ModelCard

    from harness.training import finetune, resolve_run

    out = tmp_path / "run"
    finetune(resolve_run("tiny-vlm", task="flare_vqa", data=tiny_env["data"], out_dir=str(out),
                         overrides={"max_steps": 2, "merge_lora": False, "name": "tiny-ft",
                                    "gradient_checkpointing": False}))
    card = ModelCard.load(out / "README.md")
    assert card.data.model_name == "tiny-ft" and "med3d-harness" in card.data.tags
    assert "| fine-tuned from | `tiny-vlm` |" in card.text and "| steps | 2 |" in card.text
    assert "split `train`" in card.text
    adapter = json.loads((out / "adapter" / "adapter_config.json").read_text())
    assert adapter["base_model_name_or_path"] == "tiny-vlm"
    assert json.loads((out / "config.json").read_text())["recipe"]["name"] == "tiny-ft"


@pytest.mark.slow
def test_adapter_export_loads_on_top_of_the_base_llm(tiny_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import harness
    from harness.training import finetune, resolve_run

    out = tmp_path / "adapter-run"
    cfg = resolve_run("tiny-vlm", task="flare_vqa", data=tiny_env["data"], out_dir=str(out),
                      overrides={"max_steps": 2, "merge_lora": False, "save_dtype": "bfloat16",
                                 "trainable": ["vision_tower", "mm_projector"], "gradient_checkpointing": False})
    finetune(cfg)
    from safetensors.torch import load_file

    parts = load_file(str(out / "model.safetensors"))
    assert parts and all(k.startswith(("model.vision_tower.", "model.mm_projector.")) for k in parts)
    assert {t.dtype for t in parts.values() if t.is_floating_point()} == {torch.bfloat16}
    assert (out / "adapter" / "adapter_config.json").is_file()

    monkeypatch.setenv("TINY_VLM_WEIGHTS", str(out))
    trained = harness.load_model("tiny-vlm")
    monkeypatch.delenv("TINY_VLM_WEIGHTS")
    untrained = harness.load_model("tiny-vlm")
    key = next(k for k in parts if k.endswith("weight"))
    assert torch.equal(trained.state_dict()[key].to(torch.bfloat16), parts[key])
    assert not torch.equal(untrained.state_dict()[key].to(torch.bfloat16), parts[key])
    q_proj = "model.layers.0.self_attn.q_proj.weight"
    assert not torch.allclose(trained.state_dict()[q_proj], untrained.state_dict()[q_proj])  # LoRA merged in


def _launch(args: list[str], log: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    with socket.socket() as sock:  # torchrun's --master-port 0 hangs the gloo rendezvous: pick a free port
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
               "--master-port", port, "-m", "harness", "finetune", *args]
    with log.open("w") as handle:
        done = subprocess.run(command, env=env, stdout=handle, stderr=subprocess.STDOUT, timeout=900)
    assert done.returncode == 0, log.read_text()[-4000:]


@pytest.mark.slow
@pytest.mark.deepspeed
def test_zero2_on_two_cpu_processes_learns_and_resumes(tiny_env, tmp_path: Path):
    pytest.importorskip("deepspeed")
    if shutil.which("torchrun") is None and not Path(sys.executable).with_name("torchrun").exists():
        pytest.skip("torchrun is not installed")
    out = tmp_path / "zero2"
    common = ["--model", "tiny-vlm", "--task", "all", "--data", tiny_env["data"], "--out", str(out),
              "--deepspeed", "zero2", "--lr", "1e-2", "--batch-size", "2", "--save-steps", "6",
              "--set", "logging_steps=1", "--set", "gradient_checkpointing=false"]
    _launch([*common, "--max-steps", "12"], tmp_path / "first.log")
    first = read_log(out / "train_log.csv")
    losses = [row["loss"] for row in first]
    assert [int(r["step"]) for r in first] == list(range(1, 13))
    assert sum(losses[-3:]) / 3 < 0.9 * sum(losses[:3]) / 3, losses
    assert (out / "checkpoint-12" / "global_step12").is_dir()  # DeepSpeed's own optimizer shards

    shutil.rmtree(out / "checkpoint-12" / "global_step12")  # as if killed while saving step 12's shards
    (out / "training.json").unlink()
    _launch([*common, "--max-steps", "12", "--resume"], tmp_path / "second.log")
    second = (tmp_path / "second.log").read_text()
    assert "checkpoint-12 (global_step12/" in second and "resuming from checkpoint-6" in second
    again = read_log(out / "train_log.csv")
    assert [int(r["step"]) for r in again] == list(range(1, 13))  # steps 7-12 trained again, logged once
    assert [r["loss"] for r in again[:6]] == losses[:6]
    assert _state(out, 12)["global_step"] == 12
    assert (out / "config.json").is_file() and (out / "model.safetensors").is_file()


@pytest.mark.slow
def test_finetune_json_prints_the_training_summary_alone_on_stdout(tiny_env, tmp_path: Path, capsys):
    from harness.cli.main import main

    out = tmp_path / "run"
    args = ["finetune", "--model", "tiny-vlm", "--task", "flare_vqa", "--data", tiny_env["data"], "--out", str(out),
            "--max-steps", "1", "--set", "gradient_checkpointing=false", "--json"]
    assert main(args) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)  # nothing but the JSON object on stdout
    assert summary == json.loads((out / "training.json").read_text())
    assert summary["config"]["max_steps"] == 1 and summary["metrics"]["world_size"] == 1
    assert "model written to" in captured.err
    assert main([*args, "--resume"]) == 0  # a finished run: its summary again, and still only JSON
    captured = capsys.readouterr()
    assert json.loads(captured.out) == summary and "nothing to resume" in captured.err


@pytest.mark.parametrize(("source", "stored"), [
    ("tiny-vlm", "tiny-vlm"),                      # a zoo name
    ("org/model", "org/model"),                    # a hub id
    ("ckpts/run1", "ckpts/run1"),                  # relative: as given
    ("/home/me/ckpts/run1", "run1"),               # absolute: the folder's name only
    ("~/ckpts/run1/", "run1"),
])
def test_portable_reference_never_keeps_an_absolute_path(source: str, stored: str):
    from harness.training.config import portable_reference

    assert portable_reference(source) == stored


@pytest.mark.slow
def test_an_export_from_a_local_folder_records_no_path_of_this_machine(tiny_env, tmp_path: Path):
    """Issue 15, portable checkpoints: ``finetuned_from``, the adapter's base and the card name the base folder
    by its name, not by the absolute path it had on the machine that trained."""
    import harness
    from harness.training import finetune, resolve_run

    base = tmp_path / "machine-specific" / "tiny-base"
    model = harness.load_model("tiny-vlm")
    model.save_pretrained(base)
    import tiny_vlm_plugin

    tiny_vlm_plugin.TinyLlamaBackend().tokenizer().save_pretrained(base)
    out = tmp_path / "ft"
    finetune(resolve_run(str(base), task="flare_vqa", data=tiny_env["data"], out_dir=str(out),
                         overrides={"max_steps": 1, "merge_lora": False, "gradient_checkpointing": False}))
    recipe = json.loads((out / "config.json").read_text())["recipe"]
    assert recipe["finetuned_from"] == "tiny-base"
    assert json.loads((out / "adapter" / "adapter_config.json").read_text())["base_model_name_or_path"] == "tiny-base"
    for name in ("config.json", "README.md", "adapter/adapter_config.json"):
        assert str(tmp_path) not in (out / name).read_text(), name


@pytest.mark.slow
def test_a_task_of_another_data_format_trains_end_to_end(tiny_env, tmp_path: Path):
    """Fine-tuning knows no benchmark: ``--task all`` on the echo format's named data set trains its one task that
    gives targets (the other is left out, said so), and the exported model loads."""
    from echotask import echo_data, echo_plugin

    import harness
    from harness.training import finetune, resolve_run

    folder = echo_data(tmp_path / "echo-data", cases=4)
    out = tmp_path / "echo-ft"
    messages: list[str] = []
    with echo_plugin(folder):
        cfg = resolve_run("tiny-vlm", task="all", data="echo-set", out_dir=str(out),
                          overrides={"max_steps": 2, "batch_size": 2, "gradient_checkpointing": False})
        finetune(cfg, log=messages.append)
    assert any("task echo_length gives no training targets: left out of --task all" in m for m in messages), messages
    assert any("echo_say: 4" in m for m in messages), messages  # samples per epoch: one per case, echo's only
    saved = json.loads((out / "finetune_run.json").read_text())["settings"]
    assert saved["tasks"] == ["echo_length", "echo_say"] and saved["n_cases"] == 4
    assert json.loads((out / "training.json").read_text())["metrics"]["global_step"] == 2
    model = harness.load_model(str(out))
    assert model.config.recipe["finetuned_from"] == "tiny-vlm"
