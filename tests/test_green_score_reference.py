"""The `hf` judge against green-score 0.0.12's own code on SmolLM2 (test only; never vendored).

Install: ``pip install --no-deps --ignore-requires-python green-score==0.0.12``. Under transformers 5 its
code needs two shims, applied here only: ``batch_encode_plus`` (removed; the tokenizer's ``__call__`` is
the same encoding) and its fixed ``max_length=2048`` in ``generate`` (replaced by the test's length).
Its summary statistics import sklearn and sentence-transformers; they are stubbed and the summary is off
for the judge comparison, and the summary's state switch is checked with the clustering stubbed out.
"""

from __future__ import annotations

import os
import random
import sys
import types

import pytest

from harness.scoring.green import OfficialGreenState, clean_completion, make_prompt, parse_completion

pytestmark = pytest.mark.slow

MAX_LENGTH = 530


@pytest.fixture(scope="module")
def green_score():
    stubs = {}
    for name, attrs in {"sklearn": {}, "sklearn.metrics": {"silhouette_score": None},
                        "sklearn.cluster": {"KMeans": None}, "sklearn.preprocessing": {},
                        "sentence_transformers": {"SentenceTransformer": None}}.items():
        if name.split(".")[0] not in sys.modules:
            module = types.ModuleType(name)
            module.__dict__.update(attrs)
            stubs[name] = module
    saved = {name: sys.modules.get(name) for name in stubs}
    sys.modules.update({n: m for n, m in stubs.items() if saved[n] is None})
    try:
        import green_score.green as module
    except ImportError as exc:
        reason = (f"green-score 0.0.12 is not importable ({exc}); `make setup` installs it (scripts/bootstrap.sh), "
                  "or `pip install --no-deps --ignore-requires-python green-score==0.0.12` and `pip install datasets`")
        if os.environ.get("CI"):  # CI must prove the judge against green-score's own code, never skip it
            pytest.fail(reason)
        pytest.skip(reason)
    finally:
        for name, old in saved.items():
            if old is None:
                sys.modules.pop(name, None)
    return module


def test_stateful_parsing_equals_green_score_on_random_call_sequences(green_score, monkeypatch):
    """The official scorer's one GREEN object, its `process_results` and summary, call after call."""
    monkeypatch.setattr(green_score, "compute_largest_cluster", lambda sentences: (None, sentences[:1]))
    rng = random.Random(0)

    def completion() -> str:
        kind = rng.choice(["lettered", "lettered", "lettered", "numbered", "none", "no"])
        lines = {"lettered": [f"({c}) error: {rng.randint(0, 3)}. x" for c in "abcdef" if rng.random() < .7],
                 "numbered": [f"({i}) error: {rng.randint(0, 3)}. x" for i in range(1, 7)],
                 "none": ["0."], "no": ["No clinically significant errors."]}[kind]
        return ("[Clinically Significant Errors]:\n" + "\n".join(lines) +
                f"\n\n[Matched Findings]:\n{rng.randint(0, 4)}. a; b")

    outcomes = {"crash": 0, "switched": 0, "lettered": 0}
    for _ in range(60):
        reference = green_score.GREEN(model_name=None, compute_summary_stats=True)
        reference.model_name = "stub"
        state = OfficialGreenState()
        for _ in range(rng.randint(1, 6)):
            call = [completion() for _ in range(rng.randint(1, 4))]
            reference.completions = call
            reference.dataset = {"reference": ["r"] * len(call), "prediction": ["p"] * len(call)}
            crashes = state.crashes
            parses = state.call(call)
            try:
                _, _, expected, *_ = reference.process_results()
            except KeyError:
                assert state.crashes == crashes + 1  # the official run ends here; the harness counts it
                outcomes["crash"] += 1
                break
            assert state.crashes == crashes
            assert [p.score for p in parses] == pytest.approx(expected)
            outcomes["switched" if state.numbered else "lettered"] += 1
    assert min(outcomes.values()) > 0, outcomes


@pytest.fixture(scope="module")
def smollm2():
    pytest.importorskip("torch")
    from harness import plugins
    from harness.errors import HarnessError

    try:
        return plugins.registry("llms").create("smollm2").local_dir()
    except HarnessError as exc:
        pytest.skip(f"SmolLM2 is not available: {exc}")


def test_prompts_chat_text_token_ids_generation_and_scores_equal_green_score(green_score, smollm2):
    import torch

    from harness_plugins.judges.hf import HFJudge

    reference = green_score.GREEN(model_name=str(smollm2), cpu=True, compute_summary_stats=False)
    tok = reference.tokenizer
    tok.batch_encode_plus = tok.__call__
    generated: list[torch.Tensor] = []
    original = reference.model.generate

    def generate(**kwargs):
        kwargs["max_length"] = MAX_LENGTH
        out = original(**kwargs)
        generated.append(out[:, kwargs["input_ids"].shape[1]:])
        return out

    reference.model.generate = generate
    refs = ["Liver: normal size.", "Small left pleural effusion.", "Kidneys normal.", "Liver: normal size."]
    hyps = ["Liver: enlarged with a cyst.", "No effusion. Mild ascites.", "Kidneys normal.", "Liver: enlarged."]
    _, _, expected_scores, *_ = reference(refs=refs, hyps=hyps)

    judge = HFJudge(model=str(smollm2), device="cpu", dtype="float16", max_length=MAX_LENGTH,
                    batching="official").load()
    prompts = [make_prompt(r, h) for r, h in zip(refs, hyps, strict=True)]
    assert prompts == reference.prompts
    chats = [tok.apply_chat_template([{"from": "human", "value": p}, {"from": "gpt", "value": ""}],
                                     tokenize=False, add_generation_prompt=True) for p in prompts]
    assert [judge.render(p) for p in prompts] == chats
    batch = reference.tokenize_batch_as_chat([[{"from": "human", "value": p}, {"from": "gpt", "value": ""}]
                                              for p in prompts])
    rows = [ids[mask.bool()].tolist() for ids, mask in zip(batch["input_ids"], batch["attention_mask"], strict=True)]
    assert [judge.encode(p) for p in prompts] == rows
    eos = tok.eos_token_id
    expected_new = []
    for row in generated[0].tolist():
        expected_new.append(row[: row.index(eos) + 1] if eos in row else row)
    new = judge.generate_ids(rows)
    assert new == expected_new
    completions = [judge._decode(row, ids) for row, ids in zip(rows, new, strict=True)]  # what complete() returns
    assert [clean_completion(c) for c in completions] == reference.completions
    assert [parse_completion(c).score for c in completions] == pytest.approx(expected_scores)
