"""Bad inputs to `harness finetune` and `harness push`: one `error:` line naming the input, exit 2, no traceback,
nothing written before changed (the contract of tests/badinput.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from badinput import assert_one_line_error, run_cli, snapshot

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "training"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Demo data, the tiny test model's plugin environment, and folders in the states the cases need."""
    from harness_plugins.tasks.flare.demo import generate_demo

    root = tmp_path_factory.mktemp("bad-train")
    env = {"HARNESS_PLUGINS": "tiny_vlm_plugin", "TINY_VLM_DIR": str(root / "tokenizer"),
           "HARNESS_CACHE": str(root / "cache"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(FIXTURE), os.environ.get("PYTHONPATH")]))}
    subprocess.run([sys.executable, "-c", "import tiny_vlm_plugin; tiny_vlm_plugin.ensure_tokenizer()"],
                   env={**os.environ, **env}, check=True)  # once, before the commands below use it
    data = generate_demo(root / "data", cases=6, seed=11)
    (root / "a-file").write_text("not a folder\n")
    foreign = root / "foreign"  # checkpoints, but no fingerprint: not made by harness finetune
    (foreign / "checkpoint-2").mkdir(parents=True)
    (foreign / "checkpoint-2" / "trainer_state.json").write_text('{"global_step": 2}')
    torn = root / "torn-fingerprint"
    (torn / "checkpoint-2").mkdir(parents=True)
    (torn / "finetune_run.json").write_text('{"format": "harness-fine')
    for name, text in (("config-not-json", "{not json"), ("config-a-list", "[1, 2]")):
        (root / name).mkdir()
        (root / name / "config.json").write_text(text)
    pushable = root / "pushable"  # what a finished run leaves, as far as `push` checks
    pushable.mkdir()
    (pushable / "config.json").write_text("{}")
    (pushable / "training.json").write_text("{}")
    return {"root": root, "data": str(data), "env": env}


def _finetune(world: dict, out: str, *extra: str, model: str = "tiny-vlm") -> list[str]:
    return ["finetune", "--model", model, "--task", "all", "--data", world["data"], "--out", out,
            "--max-steps", "2", "--set", "gradient_checkpointing=false", *extra]


FINETUNE_CASES = {
    # name: (arguments from the world, names the error line must contain)
    "data that does not exist, checked before the 7B model would load": (
        lambda w: ["finetune", "--model", "med3dvlm", "--task", "all", "--data", str(w["root"] / "absent"),
                   "--out", str(w["root"] / "o-absent")], ["absent"]),
    "a split with no record file": (
        lambda w: ["finetune", "--model", "med3dvlm", "--task", "all", "--data", w["data"], "--split", "nosuch",
                   "--out", str(w["root"] / "o-split")], ["nosuch"]),
    "a --model folder whose config.json is not JSON": (
        lambda w: _finetune(w, str(w["root"] / "o-cfg"), model=str(w["root"] / "config-not-json")),
        ["config-not-json", "not valid JSON"]),
    "a --model folder whose config.json is a list": (
        lambda w: _finetune(w, str(w["root"] / "o-cfg"), model=str(w["root"] / "config-a-list")),
        ["config-a-list", "not an object"]),
    "--dry-run of a --model folder whose config.json is not JSON": (
        lambda w: _finetune(w, str(w["root"] / "o-cfg"), "--dry-run", model=str(w["root"] / "config-not-json")),
        ["config-not-json"]),
    "--out that is a file": (lambda w: _finetune(w, str(w["root"] / "a-file")), ["a-file"]),
    "--name with a space": (lambda w: _finetune(w, str(w["root"] / "o-name"), "--name", "my model"), ["my model"]),
    "--batch-size 0": (lambda w: _finetune(w, str(w["root"] / "o-bs0"), "--batch-size", "0"), ["--batch-size"]),
    "--batch-size 1 with BatchNorm in the vision tower": (
        lambda w: _finetune(w, str(w["root"] / "o-bs1"), "--batch-size", "1"), ["--batch-size 1", "BatchNorm"]),
    "--resume of a folder this harness did not create": (
        lambda w: _finetune(w, str(w["root"] / "foreign"), "--resume"), ["foreign", "finetune_run.json"]),
    "--resume with a torn fingerprint": (
        lambda w: _finetune(w, str(w["root"] / "torn-fingerprint"), "--resume"), ["finetune_run.json"]),
}
PUSH_CASES = {
    "push while offline": (
        lambda w: ["push", str(w["root"] / "pushable"), "--repo-id", "someone/tiny"], ["HF_HUB_OFFLINE"]),
    "push of a folder that is not a fine-tuned model": (
        lambda w: ["push", w["data"], "--repo-id", "someone/tiny"], ["config.json"]),
    "push of a folder that does not exist": (
        lambda w: ["push", str(w["root"] / "nowhere"), "--repo-id", "someone/tiny"], ["nowhere"]),
}


def _assert_refused(world: dict, make_args, names: list[str]) -> None:
    args = make_args(world)
    before = snapshot(world["root"])
    result = run_cli(*args, env=world["env"])
    assert_one_line_error(result, *names)
    after = snapshot(world["root"])
    assert {name: after.get(name) for name in before} == before  # nothing written before changed


@pytest.mark.slow  # each loads torch and transformers in a subprocess
@pytest.mark.parametrize("case", sorted(FINETUNE_CASES))
def test_bad_finetune_input_is_one_line(world: dict, case: str):
    _assert_refused(world, *FINETUNE_CASES[case])


@pytest.mark.parametrize("case", sorted(PUSH_CASES))
def test_bad_push_input_is_one_line(world: dict, case: str):
    _assert_refused(world, *PUSH_CASES[case])


@pytest.fixture(scope="module")
def finished(world: dict) -> Path:
    out = world["root"] / "finished"
    result = run_cli(*_finetune(world, str(out), "--batch-size", "2", "--set", "logging_steps=1"), env=world["env"])
    assert result.returncode == 0, result.stderr[-3000:]
    return out


@pytest.mark.slow
@pytest.mark.parametrize("extra, names", [
    ([], ["finished fine-tuned model", "--out"]),  # without --resume: would overwrite the final model
    (["--resume", "--lr", "0.1"], ["--resume", "learning_rate"]),  # other settings than the saved run's
    (["--resume", "--split", "validation"], ["split: train then, validation now"]),
])
def test_a_finished_run_is_never_trained_over(world: dict, finished: Path, extra: list[str], names: list[str]):
    before = snapshot(finished)
    result = run_cli(*_finetune(world, str(finished), "--batch-size", "2", *extra), env=world["env"])
    assert_one_line_error(result, *names)
    assert snapshot(finished) == before


@pytest.mark.slow
def test_resuming_a_finished_run_says_so_and_changes_nothing(world: dict, finished: Path):
    before = snapshot(finished)
    result = run_cli(*_finetune(world, str(finished), "--batch-size", "2", "--resume"), env=world["env"])
    assert result.returncode == 0 and "is a finished run" in result.stdout, result.stderr[-2000:]
    assert snapshot(finished) == before


@pytest.mark.slow
def test_push_uploads_only_the_final_model(world: dict, finished: Path, monkeypatch: pytest.MonkeyPatch):
    """With the Hub faked: the repository is created and the checkpoints and fingerprint stay home."""
    import fnmatch

    import huggingface_hub

    from harness.cli import push

    calls: dict = {}

    class FakeApi:
        def create_repo(self, repo_id: str, **kwargs) -> None:
            calls["created"] = repo_id

        def upload_folder(self, **kwargs) -> str:
            calls.update(kwargs)
            return "https://huggingface.co/someone/tiny/commit/1"

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    push.check_model_folder(finished)
    assert push.push_folder(finished, "someone/tiny", private=True, revision=None, message="m").endswith("/1")
    assert calls["created"] == "someone/tiny" and calls["folder_path"] == finished
    files = [str(p.relative_to(finished)) for p in finished.rglob("*") if p.is_file()]
    sent = [f for f in files if not any(fnmatch.fnmatch(f, pattern) for pattern in calls["ignore_patterns"])]
    assert {"README.md", "config.json", "model.safetensors", "training.json", "train_log.csv"} <= set(sent)
    assert not any(f.startswith("checkpoint-") or f == "finetune_run.json" for f in sent)


@pytest.mark.parametrize("raised, message", [
    (ConnectionError("Max retries exceeded"), "could not reach the Hugging Face Hub"),
    ("token", "hf auth login"),
    ("invalid", "--repo-id 'bad id' is not a valid Hub repository id"),
])
def test_push_failures_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raised, message):
    import huggingface_hub
    from huggingface_hub.errors import HFValidationError, LocalTokenNotFoundError

    from harness.cli import push
    from harness.errors import HarnessError

    errors = {"token": LocalTokenNotFoundError("no token"), "invalid": HFValidationError("Repo id must be ...")}

    class FailingApi:
        def create_repo(self, repo_id: str, **kwargs) -> None:
            raise errors.get(raised, raised)

    monkeypatch.setattr(huggingface_hub, "HfApi", FailingApi)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    with pytest.raises(HarnessError, match=message) as caught:
        push.push_folder(tmp_path, "bad id", private=False, revision=None, message="m")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("model", "words"), [
    ("", "--model is empty"),
    ("{tmp}/weights.bin", "is a file"),
    ("./no-such-checkpoint", "no such checkpoint folder"),
], ids=["empty", "a file", "missing path"])
def test_a_model_argument_that_is_no_checkpoint_is_refused_before_training(tmp_path: Path, model: str, words: str):
    """An empty --model used to be read as the current folder; a file or a missing path as an unknown zoo name."""
    from harness.errors import HarnessError
    from harness.training import resolve_run

    (tmp_path / "weights.bin").write_bytes(b"\0")
    with pytest.raises(HarnessError, match=words):
        resolve_run(model.replace("{tmp}", str(tmp_path)), task="all", data="demo", out_dir=str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("seed", [-1, 2**32])
def test_a_seed_outside_numpys_range_is_refused_before_training(tmp_path: Path, seed: int):
    """transformers' set_seed seeds numpy, which takes 0 to 2**32 - 1: a traceback once the model had loaded."""
    from harness.errors import HarnessError
    from harness.training import resolve_run

    with pytest.raises(HarnessError, match=f"seed {seed}: give a seed from 0 to {2**32 - 1}"):
        resolve_run("med3dvlm-demo", task="all", data="demo", out_dir=str(tmp_path / "out"), overrides={"seed": seed})
