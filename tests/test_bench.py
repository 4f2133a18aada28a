"""`harness bench --device cpu`: the tiny configurations run end to end and every figure is there.

The run happens once, in a fresh interpreter with monai, SimpleITK, nibabel, isal, gguf, datasets,
jsonschema and deepspeed made uninstallable (tests/blocked_imports.py): the bench path (recipe -> build
-> generate -> judge -> train) must neither need nor try to import them. No timing is asserted.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from harness import hookimpl
from harness.task import MetricSpec, Request, Task

HEAVY = ("monai", "SimpleITK", "nibabel", "isal", "gguf", "datasets", "jsonschema", "deepspeed")
BLOCKER = Path(__file__).resolve().parent / "blocked_imports.py"
REPO = BLOCKER.parent.parent


@pytest.fixture(scope="module")
def cpu_bench(tmp_path_factory) -> tuple[dict, str, str]:
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    env = {**os.environ, "HARNESS_BLOCK_IMPORTS": ",".join(HEAVY), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    result = subprocess.run([sys.executable, str(BLOCKER), "-m", "harness", "bench", "--device", "cpu", "--out",
                             str(out)], env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(out.read_text()), result.stdout, result.stderr


def _positive(value) -> bool:
    return isinstance(value, float | int) and math.isfinite(value) and value > 0


def test_bench_path_imports_none_of_the_optional_packages(cpu_bench):
    """It ran with them absent (the fixture); and no module of this repository even tried to import one."""
    _, _, stderr = cpu_bench
    line = next(line for line in stderr.splitlines() if line.startswith("blocked_imports: attempted"))
    ours = [a for a in line.split("[", 1)[1].split(",") if str(REPO / "harness") in a or str(REPO / "plugins") in a]
    assert ours == [], line


def test_every_figure_is_present(cpu_bench):
    result, stdout, _ = cpu_bench
    assert result["scale"] == "tiny" and result["device"]["name"] == "cpu"
    assert result["versions"]["torch"] and result["versions"]["transformers"]
    assert [r["batch"] for r in result["vision"]["rows"]] == [1, 2]
    assert all(_positive(r["volumes_per_s"]) for r in result["vision"]["rows"])
    generation = result["generation"]
    assert result["model"] == "med3dvlm" and result["tasks"] == ["flare_report", "flare_vqa"]
    points = {(r["task"], r["cache"], r["batch"]) for r in generation["rows"]}
    assert points == {(k, c, b) for k in ("flare_report", "flare_vqa") for c in ("dynamic", "static") for b in (1, 2)}
    for row in generation["rows"]:
        for key in ("prefill_tokens_per_s", "decode_tokens_per_s", "tokens_per_s", "seconds_per_request"):
            assert _positive(row[key]), (key, row)
        assert "peak_memory_gib" in row
        assert row["prompt_tokens_mean"] > 256  # the 256 visual tokens plus the real prompt text
    assert generation["requests_per_case"] == {"flare_report": 1, "flare_vqa": 3}
    assert generation["new_tokens"] == {"flare_report": 8, "flare_vqa": 4}
    assert _positive(generation["per_case"]["seconds_per_case"])
    judge = result["judge"]
    timed = [r for r in judge["rows"] if "status" not in r]
    assert {(r["variant"], r["batch"]) for r in timed} >= {(v, b) for v in ("padded", "static") for b in (2, 4)}
    assert all(_positive(r["seconds_per_sample"]) for r in timed)
    assert _positive(judge["best"]["seconds_per_sample"]) and judge["reference"]["seconds_per_sample"] == 2.3
    assert judge["judge"] == "hf" and judge["architecture"] == "llama (GREEN-RadLlama2-7B shapes)"
    assert judge["best"]["calls_per_case"] == 15
    training = result["training"]
    for key in ("samples_per_s", "tokens_per_s", "model_tflops_per_s"):
        assert _positive(training[key]), key
    assert training["mfu"] is None and training["bf16_peak_tflops"] is None  # no known peak for a CPU
    assert 0 < training["trainable_parameters"] < training["total_parameters"]
    for label in ("vision tower + projector", "generation", "GREEN judge", "training", "s/case", "s/sample"):
        assert label in stdout


def test_green_prompts_are_green_shaped():
    from harness.bench.judge import green_template
    from harness.bench.prompts import bench_tokenizer, green_prompts

    tokenizer = bench_tokenizer(32000)
    tokenizer.chat_template = green_template("hf")
    lengths = [len(tokenizer.apply_chat_template([{"from": "human", "value": p}, {"from": "gpt", "value": ""}],
                                                 tokenize=True, add_generation_prompt=True, return_dict=False))
               for p in green_prompts(16)]
    assert min(lengths) >= 550 and max(lengths) <= 950, lengths


def test_task_prompts_are_the_declared_tasks_requests_with_the_visual_tokens():
    from harness.bench.prompts import bench_tokenizer, task_prompts
    from harness.bench.workload import task_workloads

    tokenizer = bench_tokenizer(151666)
    prompts = task_prompts(task_workloads((), "full"), tokenizer, image_tokens=256, style="med3dvlm")
    assert len(prompts["flare_report"]) == 1 and len(prompts["flare_vqa"]) == 12
    assert all(p.count(151665) == 256 for kind in prompts.values() for p in kind)


def test_the_workload_comes_from_the_registrations_and_options_choose_others():
    from harness.bench import workload

    tiny = workload.resolve("tiny", sections=("vision", "generation", "judge", "training"))
    assert tiny.model.name == "med3dvlm" and tiny.model.overrides["encoder"] == "dcformer-nano"
    assert tiny.judge.architecture["num_hidden_layers"] == 2 and tiny.judge.architecture["model_type"] == "llama"
    assert workload.resolve("full", sections=("vision",)).model.overrides == {}
    demo = workload.resolve("tiny", sections=("generation",), model="med3dvlm-demo", tasks=("flare_vqa",))
    assert demo.model == workload.ModelWorkload("med3dvlm-demo", {}) and [t.name for t in demo.tasks] == ["flare_vqa"]
    assert workload.resolve("full", sections=("vision",)).tasks == ()


def test_a_judge_or_task_without_a_bench_declaration_is_one_line():
    from harness.bench import workload
    from harness.errors import HarnessError

    with pytest.raises(HarnessError, match="judge 'lexical' declares no bench architecture"):
        workload.judge_workload("lexical", "tiny")
    with pytest.raises(HarnessError, match="did you mean 'flare_vqa'"):
        workload.task_workloads(("flare_vq",), "tiny")


def test_mfu_counts_weight_gradients_of_trainable_matrices_only():
    import torch

    from harness.bench.training import step_flops

    class Toy(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.frozen = torch.nn.Linear(10, 10, bias=False).requires_grad_(False)
            self.lm_head = torch.nn.Linear(10, 20, bias=False)
            self.config = type("C", (), {"text_config": type("T", (), {"num_hidden_layers": 1, "hidden_size": 10})})

    batch = {"attention_mask": torch.tensor([[1, 1, 1, 0]])}
    # linear: (4 * 300 + 2 * 200) * 3 tokens; attention: 3 * 2 * 1 * 10 * 3^2; vision: 3 * 5 per sample
    assert step_flops(Toy(), batch, vision_forward_flops=5.0) == 4800 + 540 + 15


def test_largest_batch_search_tries_the_cap_first_and_halves_down_to_the_last_listed_batch():
    from harness.bench.generation import largest_candidates

    assert largest_candidates(32, 512) == [512, 256, 128, 64]
    assert largest_candidates(64, 128) == [128]
    assert largest_candidates(64, 64) == []


def test_bench_models_never_auto_compile():
    """A static cache on a GPU would make transformers compile every batch shape: the bench stays eager."""
    from harness.bench.device import describe
    from harness.bench.models import build_judge
    from harness.bench.workload import judge_workload

    architecture = judge_workload(None, "tiny").architecture
    assert build_judge(architecture, describe("cpu"), torch.float32).generation_config.disable_compile is True


class _ToyTask(Task):
    """A non-FLARE task with its own bench case: one prompt per word of the case."""

    name, version, data_format = "toy_words", "1", "toy"
    metrics = (MetricSpec("accuracy", "Accuracy", primary=True),)
    decoding = {"word": {"do_sample": False, "max_new_tokens": 2}}

    def load_data(self, data, *, split=None):
        raise NotImplementedError

    def requests(self, case, *, style, image_tokens, tokenizer):
        return [Request(f"{case['id']}/word/{i}", case["id"], "word", i, w, f"{image_tokens} Say {w}.")
                for i, w in enumerate(case["words"])]

    def parse(self, request, completion):
        return completion

    def score(self, predictions, cases, *, judge=None, cache_dir=None):
        return {"task": self.name}


def toy_case(scale: str) -> dict:
    return {"id": "c1", "words": ["one", "two"] if scale == "tiny" else ["one", "two", "three"]}


class _ToyPlugin:
    @hookimpl
    def register_tasks(self, register):
        register("toy_words", _ToyTask, bench={"case": f"{__name__}:toy_case", "new_tokens": {"tiny": 2}})


def test_a_third_party_tasks_bench_case_is_rendered_by_the_task_itself():
    from harness import plugins
    from harness.bench.prompts import bench_tokenizer, task_prompts
    from harness.bench.workload import task_workloads
    from harness.errors import HarnessError

    with plugins.temporary_plugin(_ToyPlugin(), "toy"):
        work = task_workloads(("toy_words",), "tiny")
        assert [(w.name, w.new_tokens, w.case["words"]) for w in work] == [("toy_words", 2, ["one", "two"])]
        prompts = task_prompts(work, bench_tokenizer(64), image_tokens=4, style="chat")
        with pytest.raises(HarnessError, match=r"task 'toy_words' declares no bench workload for the full scale"):
            task_workloads(("toy_words",), "full")
    assert len(prompts["toy_words"]) == 2 and all(p.count(63) == 4 for p in prompts["toy_words"])
