"""Judge plugins (`lexical`, `hf`) and the GreenScorer's deduplication, batching and disk cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness import plugins
from harness.errors import HarnessError
from harness.scoring.green import make_prompt, parse_completion
from harness.scoring.judging import CompletionCache, GreenScorer, judge_for, judge_name_for


def lexical_score(reference: str, candidate: str) -> float:
    judge = plugins.registry("judges").create("lexical")
    return parse_completion(judge.complete([make_prompt(reference, candidate)])[0]).score


def test_builtin_judges_and_default():
    assert {"hf", "lexical"} <= set(plugins.registry("judges").names())
    assert "not GREEN-calibrated" in plugins.registry("judges").create("lexical").id


class _Task:
    name, needs_judge, default_judge = "t", True, "lexical"


def test_the_default_judge_is_the_one_the_task_declares():
    from harness_plugins.judges.hf import DEFAULT_MODEL

    assert judge_name_for(_Task(), None) == "lexical" and judge_name_for(_Task(), "hf") == "hf"
    assert judge_for(_Task()).id.startswith("lexical")
    assert plugins.registry("tasks").create("flare_report").default_judge == "hf" and "/" in DEFAULT_MODEL
    no_default = type("NoDefault", (_Task,), {"default_judge": None})()
    with pytest.raises(HarnessError, match="task 't' needs a judge and declares no default: pass --judge NAME"):
        judge_name_for(no_default, None)
    assert judge_for(type("NoJudge", (_Task,), {"needs_judge": False})()) is None


def test_the_judge_module_names_no_judge_model():
    import harness.scoring.judging as judging
    from harness_plugins.judges.hf import DEFAULT_MODEL

    assert DEFAULT_MODEL not in Path(judging.__file__).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("reference", "candidate", "expected"),
    [
        ("Small left pleural effusion. No ascites.", "No ascites. Small left pleural effusion.", 1.0),
        ("No ascites.", "Ascites.", 0.0),  # negation mismatch: false report
        ("Ascites.", "No ascites.", 0.0),  # negation mismatch: missed finding
        ("Left renal cyst. Liver normal.", "Right renal cyst. Liver normal.", 0.5),  # laterality
        ("Mild splenomegaly. Liver normal.", "Severe splenomegaly. Liver normal.", 0.5),  # severity
        ("Renal cyst.", "Renal cyst. Gallstones.", 0.5),  # extra finding
        ("Renal cyst.", "", 0.0),
    ],
)
def test_lexical_judge(reference, candidate, expected):
    assert lexical_score(reference, candidate) == pytest.approx(expected)


def test_lexical_judge_error_categories():
    judge = plugins.registry("judges").create("lexical")
    text = judge.complete([make_prompt("No ascites. Left cyst. Stable nodule.", "Ascites. Right cyst. Nodule.")])[0]
    parsed = parse_completion(text)
    # (a) ascites falsely reported, (c) cyst side, (f) the comparison "stable" omitted
    assert parsed.significant == (1, 0, 1, 0, 0, 1)
    assert parsed.matched == 1


class CountingJudge:
    id = "counting"

    def __init__(self):
        self.batches: list[list[str]] = []

    def complete(self, prompts):
        self.batches.append(list(prompts))
        return ["[Matched Findings]:\n1. x"] * len(prompts)


def test_scorer_sends_each_distinct_prompt_once_in_batches():
    judge = CountingJudge()
    scorer = GreenScorer(judge, batch_size=2, progress=False)
    pairs = [("a", "b"), ("a", "b"), ("c", "d"), ("e", "f"), ("a ", " b")]  # the last has the same prompt
    assert [p.score for p in scorer.score_pairs(pairs)] == [1.0] * 5
    assert sorted(len(b) for b in judge.batches) == [1, 2]
    assert scorer.stats.to_json() == {"prompts": 5, "distinct": 3, "cached": 0, "sent": 3}
    scorer.score_pairs(pairs[:1])
    assert scorer.stats.sent == 3 and scorer.stats.cached == 1


def test_disk_cache_makes_rescoring_free_and_survives_a_torn_line(tmp_path):
    pairs = [("a", "b"), ("c", "d")]
    GreenScorer(CountingJudge(), cache_dir=tmp_path, progress=False).score_pairs(pairs)
    (cache_file,) = tmp_path.glob("*.jsonl")
    with cache_file.open("a") as handle:
        handle.write('{"judge": "counting", "prompt_sha')  # a crash mid-write
    judge = CountingJudge()
    scorer = GreenScorer(judge, cache_dir=tmp_path, progress=False)
    scorer.score_pairs(pairs + [("e", "f")])
    assert judge.batches == [[make_prompt("e", "f")]]
    assert scorer.stats.cached == 2
    # the torn tail was cut before appending: every line parses and the new completion is kept
    lines = cache_file.read_text().splitlines()
    assert len(lines) == 3 and all(json.loads(line)["judge"] == "counting" for line in lines)
    again = CountingJudge()
    GreenScorer(again, cache_dir=tmp_path, progress=False).score_pairs(pairs + [("e", "f")])
    assert again.batches == []


def test_corrupt_line_in_the_middle_of_the_cache_is_an_error_and_nothing_is_cut(tmp_path):
    cache = CompletionCache(tmp_path, "j")
    cache.add([("k1", "a")])
    cache.add([("k2", "b")])
    lines = cache.path.read_text().splitlines()
    cache.path.write_text(lines[0] + "\n{not json\n" + lines[1] + "\n")
    before = cache.path.read_bytes()
    with pytest.raises(HarnessError, match="line 2 is corrupt"):
        CompletionCache(tmp_path, "j")
    assert cache.path.read_bytes() == before


def test_cache_is_per_judge_id(tmp_path):
    cache = CompletionCache(tmp_path, "judge one")
    cache.add([("k", "completion")])
    assert CompletionCache(tmp_path, "judge one").get("k") == "completion"
    assert CompletionCache(tmp_path, "judge two").get("k") is None
    record = json.loads(cache.path.read_text())
    assert record == {"judge": "judge one", "prompt_sha256": "k", "completion": "completion"}


def test_judge_returning_the_wrong_number_of_completions_is_an_error():
    class Short:
        id = "short"

        def complete(self, prompts):
            return []

    with pytest.raises(HarnessError, match="returned 0 completions for 1 prompts"):
        GreenScorer(Short(), progress=False).score_pairs([("a", "b")])


@pytest.mark.slow
def test_hf_judge_offline_fails_in_one_line_suggesting_lexical(tmp_path):
    judge = plugins.registry("judges").create("hf", model=str(tmp_path / "missing"))
    assert judge.id.startswith(f"hf:{tmp_path / 'missing'}@main;")
    with pytest.raises(HarnessError, match="--judge lexical") as info:
        judge.complete(["prompt"])
    assert "\n" not in str(info.value)


def test_hf_judge_default_is_the_official_green_model():
    judge = plugins.registry("judges").create("hf", revision="abc123", device="cpu")
    assert judge.id == "hf:StanfordAIMI/GREEN-radllama2-7b@abc123;dtype=float32,max_length=2048,batching=default"


@pytest.fixture
def tiny_causal_lm(tmp_path):
    """A random 1-layer Llama and a word-level tokenizer, saved as a local model directory."""
    torch = pytest.importorskip("torch")
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    words = ["<unk>", "<s>", "</s>"] + sorted(set(make_prompt("w1 w2", "w3").split())) + [f"w{i}" for i in range(40)]
    vocab = {w: i for i, w in enumerate(dict.fromkeys(words))}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", bos_token="<s>",
                                        eos_token="</s>")
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(vocab), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=512)
    LlamaForCausalLM(config).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    return tmp_path


@pytest.mark.slow
def test_hf_judge_runs_a_local_model_with_greens_template_and_left_padding(tiny_causal_lm):
    judge = plugins.registry("judges").create("hf", model=str(tiny_causal_lm), max_length=300, device="cpu")
    short, long = make_prompt("w1", "w2"), make_prompt("w1 w2 w3 w4 w5 w6", "w2")
    assert judge.render(short) == f"<|user|>\n{short}</s>\n<|assistant|>\n</s>\n<|assistant|>\n"
    together = judge.complete([short, long, short])
    assert len(together) == 3 and together[0] == together[2]
    assert all(isinstance(t, str) and t for t in together)
    assert judge.complete([long]) == [together[1]]  # left padding leaves a shorter prompt's answer unchanged


def test_two_writers_on_one_cache_file_keep_every_line(tmp_path):
    first, second = CompletionCache(tmp_path, "j"), CompletionCache(tmp_path, "j")
    first.add([("k1", "a")])
    second.add([("k2", "b")])  # second's view is stale: it re-reads before appending, nothing is cut
    first.add([("k3", "c")])
    reread = CompletionCache(tmp_path, "j")
    assert [reread.get(k) for k in ("k1", "k2", "k3")] == ["a", "b", "c"]
    assert len(reread.path.read_text().splitlines()) == 3
