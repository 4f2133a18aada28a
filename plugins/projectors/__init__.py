"""Built-in projectors. This module is the entry point: it registers lazy factories and imports nothing heavy.

Each factory is ``factory(in_shapes=[(tokens, channels), ...], out_dim=H, **options) -> nn.Module`` with
``num_tokens`` (the projector contract in docs/architecture.md); ``inputs`` is how many encoder feature
maps it takes (the encoder's ``select_layer`` must give that many).
"""

from __future__ import annotations

from harness import hookimpl

_MODULE = "harness_plugins.projectors"
_MED3DVLM = "https://github.com/mirthAI/Med3DVLM"
_M3D = "https://github.com/BAAI-DCAI/M3D"


@hookimpl
def register_projectors(register):
    register(
        "mixer",
        f"{_MODULE}.mixer:MixerProjector",
        description="Med3DVLM's dual-stream MLP-Mixer (low + high stream, 128 + 128 tokens by default)",
        inputs=2,
        options={"low_output_size": [192, 128], "high_output_size": [64, 128], "mlp_depth": 2},
        reference=_MED3DVLM,
    )
    register(
        "linear",
        f"{_MODULE}.mlp:LinearProjector",
        description="One Linear layer per token",
        inputs=1,
        options={},
        reference=_MED3DVLM,
    )
    register(
        "mlp",
        f"{_MODULE}.mlp:MLPProjector",
        description="Per-token MLP: Linear, then depth-1 x [GELU, Linear]",
        inputs=1,
        options={"depth": 2},
        reference=_MED3DVLM,
    )
    register(
        "low_high_mlp",
        f"{_MODULE}.mlp:LowHighMLP",
        description="Separate Linear lifts of two feature maps, tokens concatenated, then an MLP",
        inputs=2,
        options={"depth": 2},
        reference=_MED3DVLM,
    )
    register(
        "mhsa",
        f"{_MODULE}.mhsa:MHSAProjector",
        description="One self-attention block and MLP, then a Linear to the LLM width",
        inputs=1,
        options={"num_heads": 8},
        reference=_MED3DVLM,
    )
    register(
        "identity",
        f"{_MODULE}.mlp:IdentityProjector",
        description="No parameters: the encoder's channels must equal the LLM hidden size",
        inputs=1,
        options={},
        reference=_MED3DVLM,
        conformance={"in_shapes": [[32, 64]], "out_dim": 64},
    )
    register(
        "spp",
        f"{_MODULE}.spp:SPPProjector",
        description="M3D's spatial pooling projector: 2x2x2 average pooling of the token grid, then an MLP",
        inputs=1,
        options={"grid": None, "pooling_type": "spatial", "pooling_size": 2, "layer_type": "mlp", "layer_num": 2},
        reference=_M3D,
        conformance={"in_shapes": [[128, 48]], "options": {"grid": [4, 8, 4]}},
    )
