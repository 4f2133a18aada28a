"""The built-in projectors: checkpoint layout, declared vs actual shapes, gradients, reference semantics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from einops import rearrange

from harness.errors import HarnessError
from harness_plugins.projectors import register_projectors
from harness_plugins.projectors.mhsa import MHSAProjector
from harness_plugins.projectors.mixer import MixerProjector
from harness_plugins.projectors.mlp import IdentityProjector, LowHighMLP, MLPProjector
from harness_plugins.projectors.spp import SPPProjector

LAYOUT = Path(__file__).parent / "fixtures" / "med3dvlm_vision" / "layout.json"
PROJECTOR_PREFIX = "model.mm_projector."

# Per projector: (options, in_shapes variants). Two-stream projectors take [low, high], others one map.
CASES = {
    "mixer": ({"low_output_size": [12, 8], "high_output_size": [6, 8]}, [[(16, 24), (2, 48)], [(40, 32), (5, 64)]]),
    "linear": ({}, [[(10, 24)], [(3, 7)]]),
    "mlp": ({"depth": 3}, [[(10, 24)], [(3, 7)]]),
    "low_high_mlp": ({}, [[(16, 24), (2, 48)], [(40, 32), (5, 64)]]),
    "mhsa": ({"num_heads": 4}, [[(10, 24)], [(3, 8)]]),
    "identity": ({}, [[(10, 32)], [(3, 32)]]),
    "spp": ({"grid": None}, [[(4 * 6 * 8, 24)], [(2 * 2 * 4, 16)]]),
}
GRIDS = {4 * 6 * 8: (4, 6, 8), 2 * 2 * 4: (2, 2, 4)}
OUT_DIM = 32


def _factories() -> dict[str, str]:
    entries: dict[str, str] = {}
    register_projectors(lambda name, factory, **meta: entries.__setitem__(name, factory))
    return entries


def _build(name: str, in_shapes, **options) -> torch.nn.Module:
    module, _, attribute = _factories()[name].partition(":")
    factory = getattr(__import__(module, fromlist=[attribute]), attribute)
    if name == "spp":
        options["grid"] = GRIDS[in_shapes[0][0]]
    return factory(in_shapes=in_shapes, out_dim=OUT_DIM, **options)


def _features(in_shapes, batch: int = 2) -> list[torch.Tensor]:
    return [torch.randn(batch, n, c) for n, c in in_shapes]


def test_every_registered_projector_is_tested():
    assert set(_factories()) == set(CASES)


def test_mixer_has_the_published_checkpoint_layout():
    layout = json.loads(LAYOUT.read_text())
    with torch.device("meta"):
        projector = MixerProjector(layout["mm_projector_in_shapes"], out_dim=layout["mm_projector_out_dim"])
    assert {k: list(v.shape) for k, v in projector.state_dict().items()} == layout["mm_projector"]
    assert projector.num_tokens == 256


def test_layout_copy_matches_the_shared_fixture(shared_fixtures):
    full = json.loads((shared_fixtures / "med3dvlm_flare_layout.json").read_text())
    projector = {k[len(PROJECTOR_PREFIX) :]: v for k, v in full["state_dict"].items() if k.startswith(PROJECTOR_PREFIX)}
    layout = json.loads(LAYOUT.read_text())
    assert projector == layout["mm_projector"]
    config = full["config"]
    assert [config["low_input_size"], config["high_input_size"]] == layout["mm_projector_in_shapes"]


def test_mixer_loads_the_reference_weights_strictly(shared_fixtures):
    from safetensors.torch import load_file

    weights = load_file(shared_fixtures / "med3dvlm-tiny" / "checkpoint" / "model.safetensors")
    state = {k[len(PROJECTOR_PREFIX) :]: v.float() for k, v in weights.items() if k.startswith(PROJECTOR_PREFIX)}
    projector = MixerProjector([(256, 384), (32, 768)], out_dim=64)
    projector.load_state_dict(state, strict=True)
    with torch.no_grad():
        out = projector.eval()(_features([(256, 384), (32, 768)], batch=1))
    assert out.shape == (1, 256, 64) and torch.isfinite(out).all()


@pytest.mark.parametrize("variant", [0, 1])
@pytest.mark.parametrize("name", list(CASES))
def test_projector_maps_declared_shapes_to_num_tokens(name, variant):
    options, variants = CASES[name]
    in_shapes = variants[variant]
    torch.manual_seed(0)
    projector = _build(name, in_shapes, **options)
    out = projector(_features(in_shapes))
    assert out.shape == (2, projector.num_tokens, OUT_DIM)


@pytest.mark.parametrize("name", [n for n in CASES if n != "identity"])
def test_gradients_reach_every_parameter(name):
    options, variants = CASES[name]
    torch.manual_seed(0)
    projector = _build(name, variants[0], **options).train()
    features = [f.requires_grad_() for f in _features(variants[0])]
    projector(features).square().mean().backward()
    assert all(f.grad is not None and f.grad.abs().sum() > 0 for f in features)
    missing = [n for n, p in projector.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []


@pytest.mark.parametrize("name", list(CASES))
def test_eval_mode_is_deterministic(name):
    options, variants = CASES[name]
    torch.manual_seed(0)
    projector = _build(name, variants[0], **options).eval()
    features = _features(variants[0])
    with torch.no_grad():
        assert torch.equal(projector(features), projector(features))


def test_mixer_token_targets_set_the_visual_token_count():
    projector = MixerProjector([(16, 96), (2, 192)], out_dim=64, low_output_size=[24, 16], high_output_size=[16, 16])
    assert projector.num_tokens == 32
    assert projector(_features([(16, 96), (2, 192)])).shape == (2, 32, 64)
    three = MixerProjector([(16, 96), (2, 192)], out_dim=64, low_output_size=[8, 8, 8], high_output_size=[4, 4, 8])
    assert [layer.mlp2.mm_projector[0].out_features for layer in three.low_mixer] == [16, 32, 64]
    assert three.num_tokens == 16


def test_mixer_layer_mixes_tokens_then_channels_without_residuals():
    """The reference layer: ln1 -> 'b n d -> b d n' -> token MLP -> 'b d n -> b n d' -> ln2 -> channel MLP."""
    torch.manual_seed(0)
    projector = MixerProjector([(6, 8), (3, 16)], out_dim=8, low_output_size=[4], high_output_size=[2]).eval()
    low, high = _features([(6, 8), (3, 16)])
    layer = projector.low_mixer[0]
    token_mlp, channel_mlp = layer.mlp1.mm_projector, layer.mlp2.mm_projector
    x = rearrange(layer.ln1(low), "b n d -> b d n")
    x = token_mlp[1][1](F.gelu(token_mlp[0](x)))
    x = layer.ln2(rearrange(x, "b d n -> b n d"))
    expected_low = channel_mlp[1][1](F.gelu(channel_mlp[0](x)))
    with torch.no_grad():
        out = projector([low, high])
    torch.testing.assert_close(out[:, :4], expected_low)
    torch.testing.assert_close(out[:, 4:], projector.high_mixer[0](high))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"low_output_size": [8, 8], "high_output_size": [8]}, "equal length"),
        ({"low_output_size": [], "high_output_size": []}, "non-empty"),
        ({"low_output_size": [8, 8, 8], "high_output_size": [8, 8, 8], "out_dim": 36}, "divisible by 2\\*\\*3"),
    ],
)
def test_bad_mixer_options_are_one_line_errors(options, message):
    options = {"out_dim": 64, **options}
    with pytest.raises(HarnessError, match=message):
        MixerProjector([(16, 96), (2, 192)], **options)


def test_a_projector_given_the_wrong_number_of_maps_names_select_layer():
    with pytest.raises(HarnessError, match="takes 2 feature map.*select_layer=-2"):
        MixerProjector([(32, 768)], out_dim=64)
    with pytest.raises(HarnessError, match="takes 1 feature map.*select_layer=-1"):
        MLPProjector([(256, 384), (32, 768)], out_dim=64)
    with pytest.raises(HarnessError, match="in_shapes"):
        MLPProjector([(256,)], out_dim=64)


def test_identity_needs_matching_widths():
    with pytest.raises(HarnessError, match="gives 48 channels but the LLM wants 64"):
        IdentityProjector([(10, 48)], out_dim=64)


def test_low_high_mlp_concatenates_low_then_high():
    torch.manual_seed(0)
    projector = LowHighMLP([(5, 8), (2, 16)], out_dim=12, depth=1)
    assert len(projector.mm_projector) == 0 and projector.num_tokens == 7
    low, high = _features([(5, 8), (2, 16)])
    with torch.no_grad():
        out = projector([low, high])
    torch.testing.assert_close(out, torch.cat([projector.low_up_mlp(low), projector.high_up_mlp(high)], dim=1))


def test_mhsa_attention_is_scaled_dot_product_attention():
    torch.manual_seed(0)
    projector = MHSAProjector([(6, 16)], out_dim=8, num_heads=4).eval()
    (x,) = features = _features([(6, 16)])
    with torch.no_grad():
        h = projector.norm1(x)
        projections = (projector.q_proj, projector.k_proj, projector.v_proj)
        q, k, v = (rearrange(p(h), "b n (h d) -> b h n d", h=4) for p in projections)
        attended = rearrange(F.scaled_dot_product_attention(q, k, v), "b h n d -> b n (h d)")
        expected = projector.out_layer(F.gelu(projector.mlp(projector.norm2(projector.out_proj(attended)))))
        torch.testing.assert_close(projector(features), expected)
    with pytest.raises(HarnessError, match="not divisible by num_heads=5"):
        MHSAProjector([(6, 16)], out_dim=8, num_heads=5)


def test_spp_pools_the_grid_as_m3d_does():
    """M3D: 'b (p1 p2 p3) d -> b d p1 p2 p3', avg_pool3d(2), back to tokens, then the MLP per token."""
    torch.manual_seed(0)
    grid = (4, 6, 8)
    projector = SPPProjector([(192, 16)], out_dim=12, grid=grid).eval()
    assert projector.num_tokens == 2 * 3 * 4
    assert [type(m).__name__ for m in projector.projector] == ["Linear", "GELU", "Linear"]
    (x,) = features = _features([(192, 16)])
    pooled = F.avg_pool3d(rearrange(x, "b (p1 p2 p3) d -> b d p1 p2 p3", p1=4, p2=6, p3=8), 2, 2)
    with torch.no_grad():
        expected = projector.projector(rearrange(pooled, "b d p1 p2 p3 -> b (p1 p2 p3) d"))
        torch.testing.assert_close(projector(features), expected)


def test_spp_m3d_sizes_and_options():
    with torch.device("meta"):
        m3d = SPPProjector([(2048, 768)], out_dim=3072, grid=(8, 16, 16))
    assert m3d.num_tokens == 256
    assert {k: tuple(v.shape) for k, v in m3d.state_dict().items()} == {
        "projector.0.weight": (3072, 768),
        "projector.0.bias": (3072,),
        "projector.2.weight": (3072, 3072),
        "projector.2.bias": (3072,),
    }
    sequence = SPPProjector([(64, 8)], out_dim=4, pooling_type="sequence", layer_type="linear", layer_num=2)
    assert sequence.num_tokens == 8 and [type(m).__name__ for m in sequence.projector] == ["Linear", "Linear"]
    assert sequence(_features([(64, 8)])).shape == (2, 8, 4)
    with pytest.raises(HarnessError, match="needs the encoder's token grid"):
        SPPProjector([(2048, 768)], out_dim=64)
    with pytest.raises(HarnessError, match="does not hold the encoder's 2048 tokens"):
        SPPProjector([(2048, 768)], out_dim=64, grid=(8, 8, 8))
