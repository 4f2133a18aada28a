"""Bad inputs to `harness bench`: one `error:` line naming the option, exit status 2, nothing written."""

from __future__ import annotations

import pytest
import torch
from badinput import assert_one_line_error, run_cli

CASES = [
    pytest.param(["--device", "tpu"], ["--device", "tpu"], id="unknown-device"),
    pytest.param(["--out", "{tmp}/missing/bench.json"], ["--out", "missing"], id="out-folder-missing"),
    pytest.param(["--device", "cpu", "--only", "judge", "--judge", "lexical", "--out", "{tmp}/b.json"],
                 ["judge 'lexical'", "bench architecture", "--judge"], id="judge-without-bench-architecture"),
    pytest.param(["--device", "cpu", "--only", "generation", "--task", "flare_vq", "--out", "{tmp}/b.json"],
                 ["unknown task 'flare_vq'", "did you mean 'flare_vqa'"], id="unknown-task"),
    pytest.param(["--device", "cpu", "--only", "vision", "--model", "med3dvln", "--out", "{tmp}/b.json"],
                 ["unknown model 'med3dvln'", "did you mean"], id="unknown-model"),
]
if not torch.cuda.is_available():
    CASES.append(pytest.param(["--device", "cuda"], ["--device", "cuda", "--device cpu"], id="no-cuda"))


@pytest.mark.parametrize(("args", "names"), CASES)
def test_bad_bench_input(tmp_path, args, names):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = run_cli("bench", *args)
    assert_one_line_error(result, *names)
    assert not any(tmp_path.rglob("*.json"))
