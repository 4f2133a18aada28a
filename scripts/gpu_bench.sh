#!/usr/bin/env bash
# `harness bench` on a bare GPU machine, one command: install this checkout without its dependencies
# (the bench path needs only torch, transformers, peft, accelerate, pluggy, click, safetensors, numpy,
# tabulate, tqdm and tokenizers), then measure the 7B architectures at random init.
#
#   bash scripts/gpu_bench.sh                                   # everything -> bench.json + table
#   BENCH_OUT=/tmp/b.json bash scripts/gpu_bench.sh --only judge    # extra arguments go to `harness bench`
#
# Exits with status 1 and one line when no CUDA device is visible. Nothing is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
OUT=${BENCH_OUT:-bench.json}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

source scripts/gpu_preflight.sh
require_cuda gpu_bench
if ! "$PY" -c "import importlib.metadata as m; m.version('med3d-harness')" 2>/dev/null; then
  # --no-build-isolation: the build uses the machine's own setuptools instead of fetching one
  "$PY" -m pip install -q --no-deps --no-build-isolation -e .
fi
"$PY" -m harness bench --device cuda --out "$OUT" "$@"
