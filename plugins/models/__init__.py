"""Built-in zoo recipes. This module is the entry point: it registers lazy factories and imports nothing heavy.

Besides its description, a registration may carry:

- ``checkpoint_layouts``: config.json ``model_type`` -> reader (`harness.modeling.layouts`); ``med3dvlm``
  declares the published ``vlm_qwen`` layout (`harness_plugins.models.published`).
- ``bench``: this model is what `harness bench` measures by default (`harness.bench.workload`), with the
  overrides that shrink it for the ``tiny`` scale.
"""

from __future__ import annotations

from harness import hookimpl

_RECIPES = {
    "med3dvlm": ("med3dvlm", "Med3DVLM FLARE 2025 (published weights): DCFormer + mixer + Qwen2.5-7B"),
    "med3dvlm-init": ("med3dvlm_init", "Med3DVLM before FLARE fine-tuning (Qwen2.5-7B + pretrained vision)"),
    "med3dvlm-vit3d": ("med3dvlm_vit3d", "ablation: vit3d encoder + mlp projector"),
    "med3dvlm-mlp": ("med3dvlm_mlp", "ablation: low_high_mlp projector"),
    "med3dvlm-mhsa": ("med3dvlm_mhsa", "ablation: mhsa projector"),
    "med3dvlm-qwen2.5-3b": ("med3dvlm_qwen25_3b", "ablation: Qwen2.5-3B-Instruct LLM"),
    "flare25-baseline": ("flare25_baseline", "FLARE 2025 baseline: M3D ViT + spp + Phi-3-mini"),
    "med3dvlm-demo": ("med3dvlm_demo", "CPU demo: DCFormer-nano + mixer + SmolLM2-135M-Instruct"),
    "med3dvlm-demo-untrained": ("med3dvlm_demo_untrained", "the demo model before training (baseline)"),
}

_METADATA = {
    "med3dvlm": {
        "checkpoint_layouts": {"vlm_qwen": "harness_plugins.models.published:published_recipe"},
        "bench": {"tiny_overrides": "harness_plugins.models.zoo:tiny_bench_overrides"},
    },
}


@hookimpl
def register_models(register):
    for name, (attribute, description) in _RECIPES.items():
        register(name, f"harness_plugins.models.zoo:{attribute}", description=description, **_METADATA.get(name, {}))
