#!/usr/bin/env bash
# GPU check: real bf16 DeepSpeed ZeRO-2 fine-tuning steps, then batched generation, on one GPU.
# Prints training samples/s and tokens/s, generation tokens/s, and peak GPU memory.
#
#   bash scripts/gpu_check.sh                     # med3dvlm-demo, 30 steps, batch 8
#   MODEL=med3dvlm-init STEPS=10 BATCH=2 bash scripts/gpu_check.sh   # the 7B recipe (needs its weights cached)
#
# Exits with status 1 and one line when no CUDA device is visible.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
HARNESS=${HARNESS:-.venv/bin/harness}
MODEL=${MODEL:-med3dvlm-demo}
STEPS=${STEPS:-30}
BATCH=${BATCH:-8}
GEN_BATCH=${GEN_BATCH:-8}
WORK=${WORK:-$(mktemp -d -t gpu-check-XXXX)}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

source scripts/gpu_preflight.sh
require_cuda gpu_check
"$PY" -c "import torch; p = torch.cuda.get_device_properties(0); print(f'gpu_check: {p.name}, {p.total_memory / 2**30:.0f} GiB, torch {torch.__version__}')"

"$HARNESS" data demo --out "$WORK/data" --cases 48 --seed 7 > /dev/null
"$HARNESS" finetune --model "$MODEL" --init base --task all --data "$WORK/data" --split train \
  --out "$WORK/train" --deepspeed zero2 --set precision=bf16 --max-steps "$STEPS" --batch-size "$BATCH" \
  --save-steps 100000 --set logging_steps=5 --set gradient_checkpointing=true

"$PY" - "$WORK" "$GEN_BATCH" <<'EOF'
"""Training figures from training.json, then timed greedy generation of VQA answers with the trained model."""
import json
import sys
import time
from pathlib import Path

import torch

import harness
from harness import plugins
from harness.data import prepare_image
from harness_plugins.tasks.flare.loading import load_cases
from harness.modeling.loading import load_tokenizer

work, batch = Path(sys.argv[1]), int(sys.argv[2])
metrics = json.loads((work / "train" / "training.json").read_text())["metrics"]
runtime = metrics["train_runtime"]
print(f"train: {metrics['global_step']} steps in {runtime:.1f} s, {metrics['train_samples_per_second']:.2f} samples/s, "
      f"{metrics['num_input_tokens_seen'] / runtime:.0f} tokens/s, peak memory {metrics['peak_memory_gib']:.1f} GiB")

torch.cuda.reset_peak_memory_stats()
model = harness.load_model(str(work / "train"), dtype=torch.bfloat16, device="cuda")
tokenizer = load_tokenizer(str(work / "train"))
tokenizer.padding_side = "left"
recipe = model.config.get_recipe()
task = plugins.registry("tasks").create("flare_vqa")
cases = load_cases(str(work / "data"), split="validation")
image_tokens = recipe.image_token * model.num_image_tokens
requests = [(case, r) for case in cases
            for r in task.requests(case, style=recipe.prompt_style, image_tokens=image_tokens, tokenizer=tokenizer)]
requests = requests[:batch]
inputs = tokenizer([r.prompt for _, r in requests], return_tensors="pt", padding=True).to("cuda")
images = torch.stack([prepare_image(c, input_size=recipe.input_size, hu_windows=recipe.hu_windows)
                      for c, _ in requests]).to("cuda", torch.bfloat16)
generate = dict(max_new_tokens=64, do_sample=False, pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id)
model.generate(**inputs, images=images, max_new_tokens=4, do_sample=False)  # warm-up
torch.cuda.synchronize()
start = time.perf_counter()
new = model.generate(**inputs, images=images, **generate)
torch.cuda.synchronize()
seconds = time.perf_counter() - start
produced = int((new != generate["pad_token_id"]).sum())
print(f"generate: batch {len(requests)}, {produced} new tokens in {seconds:.2f} s, {produced / seconds:.0f} tokens/s, "
      f"peak memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")
print("sample:", repr(tokenizer.decode(new[0], skip_special_tokens=True)[:200]))
EOF
echo "gpu_check: done (work files in $WORK)"
