"""Bad checkpoints and plugin options: one `error:` line naming the input and the fix, never a traceback or a prompt.

The checkpoints are variants of one tiny harness checkpoint (the ``tiny-vlm`` test plugin: DCFormer-nano +
mixer + a random 2-layer Llama), so nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from badinput import assert_one_line_error, run_cli, snapshot

TRAINING_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "training"


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("tiny-vlm")
    return {
        "PYTHONPATH": os.pathsep.join([str(TRAINING_FIXTURES), os.environ.get("PYTHONPATH", "")]),
        "HARNESS_PLUGINS": "tiny_vlm_plugin",
        "TINY_VLM_DIR": str(root / "tokenizer"),
        "HARNESS_CACHE": str(root / "cache"),
    }


@pytest.fixture(scope="module")
def checkpoints(plugin_env, tmp_path_factory) -> dict[str, Path]:
    """``good``: a whole harness checkpoint with its tokenizer; ``adapter``: an adapter-only export of it."""
    import torch
    from peft import LoraConfig, get_peft_model
    from safetensors.torch import save_file

    import harness
    from harness import plugins

    saved = {k: os.environ.get(k) for k in plugin_env}
    os.environ.update(plugin_env)
    sys.path.insert(0, str(TRAINING_FIXTURES))
    plugins.reset()
    try:
        import tiny_vlm_plugin

        root = tmp_path_factory.mktemp("checkpoints")
        model = harness.load_model("tiny-vlm")
        tokenizer = tiny_vlm_plugin.TinyLlamaBackend().tokenizer()
        model.save_pretrained(root / "good")
        tokenizer.save_pretrained(root / "good")
        adapter = root / "adapter"
        parts = {k: v.contiguous() for k, v in model.state_dict().items() if k.startswith("model.mm_projector.")}
        adapter.mkdir()
        save_file(parts, str(adapter / "model.safetensors"), metadata={"format": "pt"})
        model.config.save_pretrained(adapter)
        with torch.no_grad():
            peft_model = get_peft_model(model, LoraConfig(r=2, target_modules=["q_proj"], init_lora_weights=False))
        peft_model.save_pretrained(adapter / "adapter")
        return {"good": root / "good", "adapter": adapter}
    finally:
        sys.path.remove(str(TRAINING_FIXTURES))
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        plugins.reset()


def _edit_json(name: str, change: Callable[[dict], object]) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        data = json.loads((folder / name).read_text())
        result = change(data)
        (folder / name).write_text(json.dumps(data if result is None else result))

    return edit


def _only_bin(folder: Path) -> None:
    import torch
    from safetensors.torch import load_file

    torch.save(load_file(folder / "model.safetensors"), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()


def _truncate(folder: Path) -> None:
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])


def _no_tokenizer(folder: Path) -> None:
    for file in folder.iterdir():
        if file.name.startswith(("tokenizer", "special_tokens", "chat_template")):
            file.unlink()


def _text_type(data: dict) -> None:
    data["text_config"]["model_type"] = "no-such-lm"


def _llm_remote_code(data: dict) -> None:
    data["recipe"]["llm_options"] = {"model_id": "someone/custom-lm", "trust_remote_code": True}


CHECKPOINT_CASES = {
    "only pytorch_model.bin": (_only_bin, ["pytorch_model.bin", "safetensors", "weights_only=True"]),
    "config.json not JSON": (lambda f: (f / "config.json").write_text("{not json"), ["config.json", "not valid JSON"]),
    "config.json a list": (lambda f: (f / "config.json").write_text("[1, 2]"), ["config.json", "JSON list"]),
    "truncated model.safetensors": (_truncate, ["model.safetensors", "truncated"]),
    "unknown text model type": (_edit_json("config.json", _text_type), ["config.json", "no-such-lm"]),
    "no tokenizer files": (_no_tokenizer, ["no tokenizer files", "save_pretrained"]),
    "llm_options.trust_remote_code": (_edit_json("config.json", _llm_remote_code),
                                      ["trust_remote_code", "--trust-remote-code"]),
    "tokenizer auto_map": (_edit_json("tokenizer_config.json", lambda d: d.update(
        auto_map={"AutoTokenizer": ["tok.Custom", None]})), ["tokenizer_config.json has an auto_map",
                                                             "--trust-remote-code"]),
    "config auto_map": (_edit_json("config.json", lambda d: d.update(auto_map={"AutoConfig": "conf.Custom"})),
                        ["config.json has an auto_map", "--trust-remote-code"]),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CHECKPOINT_CASES))
def test_bad_checkpoint_is_one_line_naming_it(case, checkpoints, plugin_env, tmp_path):
    breaks, words = CHECKPOINT_CASES[case]
    folder = tmp_path / "ckpt"
    shutil.copytree(checkpoints["good"], folder)
    breaks(folder)
    before = snapshot(folder)
    result = run_cli("run", "--model", str(folder), "--task", "flare_vqa", "--data", "demo", "--limit", "1",
                     "--out", str(tmp_path / "out"), env=plugin_env)
    assert_one_line_error(result, folder, *words)
    assert snapshot(folder) == before


@pytest.mark.slow
def test_good_checkpoint_and_adapter_export_run(checkpoints, plugin_env, tmp_path):
    for name in ("good", "adapter"):
        result = run_cli("run", "--model", str(checkpoints[name]), "--task", "flare_vqa", "--data", "demo",
                         "--limit", "1", "--set", "max_new_tokens=2", "--out", str(tmp_path / name), env=plugin_env)
        assert result.returncode == 0, result.stderr
        assert (tmp_path / name / "result.json").is_file()


def test_missing_dash_p_module_is_fatal():
    result = run_cli("-p", "no_such_plugin_module_xyz", "list", "encoders")
    assert_one_line_error(result, "no_such_plugin_module_xyz", "-p")


def _two_distributions_registering(site: Path, name: str) -> None:
    for dist in ("alpha", "beta"):
        info = site / f"{dist}_dist-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}-dist\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(f"[harness]\n{dist} = hbl_{dist}\n")
        (site / f"hbl_{dist}.py").write_text(
            "from harness import hookimpl\n\n\n@hookimpl\ndef register_tasks(register):\n"
            f"    register({name!r}, 'harness_plugins.tasks.flare.tasks:FlareVQATask')\n"
        )


def test_duplicate_component_from_two_installed_plugins_is_one_line_in_run(tmp_path):
    _two_distributions_registering(tmp_path, "dup-task")
    out = tmp_path / "out"
    result = run_cli("run", "--model", "med3dvlm-demo", "--task", "dup-task", "--data", "demo", "--out", str(out),
                     env={"PYTHONPATH": str(tmp_path)})
    assert_one_line_error(result, "dup-task", "alpha-dist 1.0", "beta-dist 1.0", "-p no:beta")
    assert not out.exists()


@pytest.mark.slow
def test_adapter_export_loads_on_its_base_model(checkpoints, plugin_env, monkeypatch):
    """It used to be refused as "does not match its config": now its parts and LoRA apply on the recipe's base."""
    import torch
    from safetensors.torch import load_file

    import harness
    from harness import plugins

    for key, value in plugin_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.syspath_prepend(str(TRAINING_FIXTURES))
    plugins.reset()
    try:
        base = harness.load_model("tiny-vlm").state_dict()
        state = harness.load_model(str(checkpoints["adapter"])).state_dict()
    finally:
        plugins.reset()
    saved = load_file(checkpoints["adapter"] / "model.safetensors")
    assert saved and all(torch.equal(state[k], v) for k, v in saved.items())  # the export's trained parts
    assert not all(torch.equal(state[k], base[k]) for k in saved)  # ... which a fresh base does not have
    lora = next(k for k in state if k.endswith("q_proj.weight"))
    untouched = next(k for k in state if k.endswith("v_proj.weight"))
    assert not torch.equal(state[lora], base[lora])  # the LoRA adapter is merged
    assert torch.equal(state[untouched], base[untouched])


@pytest.mark.slow
def test_a_checkpoint_asking_for_remote_code_is_refused_by_load_model_and_passes_with_the_flag(
        checkpoints, plugin_env, tmp_path, monkeypatch):
    """Issue 15, trust boundaries: ``llm_options.trust_remote_code`` in a checkpoint's config.json is refused by
    `harness.load_model` (as by `harness run`, above); only the user's own switch lets the same folder load."""
    import harness
    from harness import plugins, trust
    from harness.errors import HarnessError

    folder = tmp_path / "ckpt"
    shutil.copytree(checkpoints["good"], folder)
    _edit_json("config.json", _llm_remote_code)(folder)
    before = snapshot(folder)
    for key, value in plugin_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.syspath_prepend(str(TRAINING_FIXTURES))
    plugins.reset()
    try:
        with pytest.raises(HarnessError, match=r"sets llm_options\.trust_remote_code.*--trust-remote-code"):
            harness.load_model(str(folder))
        trust.allow_remote_code()
        assert harness.load_model(str(folder)).config.recipe["llm_options"]["trust_remote_code"] is True
    finally:
        trust.allow_remote_code(False)
        plugins.reset()
    assert snapshot(folder) == before

    args = ["run", "--model", str(folder), "--task", "flare_vqa", "--data", "demo", "--limit", "1",
            "--set", "max_new_tokens=2"]
    refused = run_cli(*args, "--out", str(tmp_path / "refused"), env=plugin_env)
    assert_one_line_error(refused, folder, "llm_options.trust_remote_code", "--trust-remote-code")
    allowed = run_cli("--trust-remote-code", *args, "--out", str(tmp_path / "allowed"), env=plugin_env)
    assert allowed.returncode == 0, allowed.stderr
    assert (tmp_path / "allowed" / "result.json").is_file()
