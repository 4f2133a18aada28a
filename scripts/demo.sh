#!/usr/bin/env bash
# `make demo`: the main job on the embedded default, no GPU, no network.
# Generates the synthetic FLARE-format validation set, then runs the demo model (DCFormer-nano + mixer +
# SmolLM2-135M-Instruct, with the trained weights shipped in the package) on both FLARE tasks, scoring
# reports with the offline lexical judge (not GREEN-calibrated).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/demo}
HARNESS=${HARNESS:-.venv/bin/harness}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
echo "demo: model med3dvlm-demo on the synthetic demo validation set (written to $OUT)"
"$HARNESS" run --model med3dvlm-demo --task flare_vqa --data demo --out "$OUT/flare_vqa" --batch-size 8
"$HARNESS" run --model med3dvlm-demo --task flare_report --data demo --out "$OUT/flare_report" --batch-size 4 \
  --judge lexical
echo "demo: done. Rerunning resumes; results in $OUT/*/result.json"
