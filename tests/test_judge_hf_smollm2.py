"""The `hf` judge run for real on SmolLM2-135M-Instruct (the `smollm2` LLM plugin's safetensors folder).

Its GREEN completions are not meaningful analyses, but the whole official path runs: chat template,
``add_eos_token``, left padding, batching, greedy decoding to ``max_length``, decoding, cleaning, parsing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.scoring.green import make_prompt, skipped_reason

pytestmark = pytest.mark.slow

PROMPTS = [
    make_prompt("Liver: normal size.", "Liver: enlarged with a cyst."),
    make_prompt("Small left pleural effusion. No ascites. Mild splenomegaly.", "No effusion."),
    make_prompt("Kidneys normal.", "Kidneys normal."),
]


@pytest.fixture(scope="module")
def smollm2() -> Path:
    pytest.importorskip("torch")
    from harness import plugins
    from harness.errors import HarnessError

    try:
        return plugins.registry("llms").create("smollm2").local_dir()
    except HarnessError as exc:
        pytest.skip(f"SmolLM2 is not available: {exc}")


def one_at_a_time(judge, rows: list[list[int]]) -> list[list[int]]:
    """Plain greedy `generate`, one prompt alone, with the budget it has alone; cut after EOS."""
    import torch

    eos = judge._tokenizer.eos_token_id
    out = []
    for row in rows:
        generated = judge._model.generate(
            input_ids=torch.tensor([row]), attention_mask=torch.ones(1, len(row), dtype=torch.long),
            max_length=judge.max_length, do_sample=False, eos_token_id=eos, pad_token_id=eos)
        new = generated[0, len(row):].tolist()
        out.append(new[: new.index(eos) + 1] if eos in new else new)
    return out


@pytest.mark.parametrize("variant", [{}, {"cache_implementation": "static"}, {"generation": "continuous"}],
                         ids=["padded", "static-cache", "continuous"])
def test_fast_path_gives_the_tokens_of_one_at_a_time_greedy_generate(smollm2, variant):
    from harness_plugins.judges.hf import HFJudge

    judge = HFJudge(model=str(smollm2), device="cpu", max_length=512, batch_size=8, **variant).load()
    rows = [judge.encode(p) for p in PROMPTS]
    kept = [r for r in rows if len(r) < judge.max_length]
    assert 0 < len(kept) < len(rows), [len(r) for r in rows]  # one prompt is over-long at this max_length
    expected = one_at_a_time(judge, kept)
    assert judge.generate_ids(kept) == expected
    assert any(len(e) == judge.max_length - len(r) for e, r in zip(expected, kept, strict=True))  # budget cut
    completions = judge.complete(PROMPTS)
    over = [i for i, r in enumerate(rows) if len(r) >= judge.max_length]
    assert [skipped_reason(completions[i]) for i in over] == [f"prompt is {len(rows[i])} tokens, max_length is 512"
                                                              for i in over]
    done = [c for i, c in enumerate(completions) if i not in over]
    assert done == [judge._decode(r, e) for r, e in zip(kept, expected, strict=True)]


def test_harness_score_with_the_hf_judge_end_to_end(smollm2, tmp_path, capsys):
    from harness.cli.main import main

    csv = tmp_path / "generated.csv"
    csv.write_text('name,gt,generated\n'
                   'c1,"liver: normal size.\nspleen: enlarged.","liver: enlarged with a cyst.\nkidneys: normal."\n'
                   'c2,"lungs and pleura: small left pleural effusion.","lungs and pleura: no effusion."\n')
    args = ["score", "flare_report", "--predictions", str(csv), "--judge", "hf", "--cache-dir", str(tmp_path / "c"),
            "--judge-option", f"model={smollm2}", "--judge-option", "max_length=520", "--judge-option", "device=cpu",
            "--judge-option", "trust_remote_code=no", "--json"]
    assert main(args) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["judge"].startswith(f"hf:{smollm2}@sha256:") and "max_length=520" in scores["judge"]
    assert scores["judge_batching"] == "default" and scores["n_cases"] == 2
    assert set(scores["per_case"]["c1"]["organs"]) == {"liver", "kidneys", "spleen"}
    assert scores["judge_calls"]["sent"] == 3
    assert {s["organ"] for s in scores["judge_skipped"]} <= {"liver", "kidneys", "lungs and pleura"}
    assert main(args[:-1] + ["--judge-option", "batching=official", "--json"]) == 0
    official = json.loads(capsys.readouterr().out)
    assert official["judge_batching"] == "official" and "batching=official" in official["judge"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["judge_calls"]["sent"] == 0  # rescoring comes from the cache


def test_from_model_wraps_a_model_in_memory_and_load_is_idempotent(smollm2):
    from harness_plugins.judges.hf import HFJudge

    loaded = HFJudge(model=str(smollm2), device="cpu", max_length=512)
    assert loaded.load() is loaded and loaded.load()._model is loaded._model
    wrapped = HFJudge.from_model(loaded._model, loaded._tokenizer, name="smollm2-in-memory", max_length=512)
    assert wrapped.id == "hf:smollm2-in-memory@in-memory;dtype=float32,max_length=512,batching=default"
    assert wrapped.load() is wrapped
    assert wrapped.complete(PROMPTS[2:]) == loaded.complete(PROMPTS[2:])
