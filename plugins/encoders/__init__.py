"""Built-in encoders. This module is the entry point: it registers lazy factories and imports nothing heavy.

Each factory is ``factory(input_size=(D, H, W), **options) -> nn.Module`` (the encoder contract in
docs/architecture.md); the options are listed in ``metadata["options"]``.
"""

from __future__ import annotations

from harness import hookimpl

_MODULE = "harness_plugins.encoders"
_MED3DVLM = "https://github.com/mirthAI/Med3DVLM"
_M3D = "https://github.com/BAAI-DCAI/M3D"
_DCFORMER_SIZES = ("nano", "naive", "tiny", "small", "base", "large")
_DCFORMER_OPTIONS = {"select_layer": -2, "select_feature": "cls_patch", "in_channels": 1}


@hookimpl
def register_encoders(register):
    for size in _DCFORMER_SIZES:
        register(
            f"dcformer-{size}",
            f"{_MODULE}.dcformer:dcformer_{size}",
            description=f"DCFormer {size}: decomposed-convolution 3D encoder, 5 stages (Med3DVLM code base)",
            family="dcformer",
            stages=["s0", "s1", "s2", "s3", "s4"],
            options=_DCFORMER_OPTIONS,
            reference=_MED3DVLM,
        )
    register(
        "dcformer",
        f"{_MODULE}.dcformer:dcformer_small",
        description="DCFormer small, Med3DVLM's vision tower (s3: 256 x 384, s4: 32 x 768 at 128x256x256)",
        family="dcformer",
        stages=["s0", "s1", "s2", "s3", "s4"],
        options=_DCFORMER_OPTIONS,
        reference=_MED3DVLM,
    )
    register(
        "vit3d",
        f"{_MODULE}.vit3d:Vit3D",
        description="Med3DVLM's plain 3D ViT (cube patches of 32, class token dropped)",
        family="vit3d",
        stages=["tokens"],
        options={"patch_size": 32, "dim": 768, "depth": 12, "heads": 8, "dim_head": 64, "mlp_dim": 4,
                 "select_layer": -1, "select_feature": "cls_patch", "in_channels": 1},
        reference=_MED3DVLM,
    )
    register(
        "m3d-vit",
        f"{_MODULE}.m3d_vit:M3DViT",
        description="M3D-LaMed's 3D ViT (MONAI layout), the FLARE 2025 baseline's encoder (patches 4x16x16)",
        family="m3d-vit",
        stages=["norm"],
        options={"patch_size": [4, 16, 16], "hidden_size": 768, "mlp_dim": 3072, "num_layers": 12,
                 "num_heads": 12, "select_layer": -1, "select_feature": "patch", "in_channels": 1},
        reference=_M3D,
    )
