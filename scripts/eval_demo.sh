#!/usr/bin/env bash
# Compare the shipped demo model with its untrained baseline on `--data demo` (seed 0: never used in
# training, which uses seed 1000), on both FLARE tasks; reports are scored with the offline lexical judge.
#
#   bash scripts/eval_demo.sh [OUT]      # default OUT=runs/eval; rerunning resumes
#
# Each run leaves OUT/<model>/<task>/result.json; add them to the leaderboard with
#   harness leaderboard add OUT/<model>/<task> --force && harness leaderboard build   (--force: those results exist)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/eval}
HARNESS=${HARNESS:-.venv/bin/harness}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
for model in med3dvlm-demo med3dvlm-demo-untrained; do
  "$HARNESS" run --model "$model" --task flare_vqa --data demo --out "$OUT/$model/flare_vqa" --batch-size 8 --quiet
  "$HARNESS" run --model "$model" --task flare_report --data demo --out "$OUT/$model/flare_report" --batch-size 4 \
    --judge lexical --quiet
done
