"""The built-in encoders: checkpoint layouts, analytic feature shapes, token order, registration."""

from __future__ import annotations

import hashlib
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from einops import pack, rearrange

from harness.errors import HarnessError
from harness_plugins.encoders import register_encoders
from harness_plugins.encoders.dcformer import SIZES, DCFormer, dcformer_nano, dcformer_small
from harness_plugins.encoders.m3d_vit import M3DViT
from harness_plugins.encoders.vit3d import Vit3D

LAYOUT = Path(__file__).parent / "fixtures" / "med3dvlm_vision" / "layout.json"
TOWER_PREFIX = "model.vision_tower.vision_tower."
PROJECTOR_PREFIX = "model.mm_projector."
VOLUME_A_SHA256 = "7839f732137c8d366c5dcde09806483fd0017e77379fc411ad31286282e3520c"


def _shapes(module: torch.nn.Module) -> dict[str, list[int]]:
    return {k: list(v.shape) for k, v in module.state_dict().items()}


def _under(weights: dict, prefix: str) -> dict:
    """The entries of a checkpoint ``weights`` under ``prefix``, prefix stripped."""
    return {k[len(prefix) :]: v for k, v in weights.items() if k.startswith(prefix)}


def _registered() -> dict[str, tuple[str, dict]]:
    entries: dict[str, tuple[str, dict]] = {}
    register_encoders(lambda name, factory, **meta: entries.__setitem__(name, (factory, meta)))
    return entries


def _load(factory: str):
    module, _, attribute = factory.partition(":")
    return getattr(__import__(module, fromlist=[attribute]), attribute)


def test_dcformer_small_has_the_published_checkpoint_layout():
    with torch.device("meta"):
        encoder = dcformer_small()
    assert _shapes(encoder) == json.loads(LAYOUT.read_text())["vision_tower"]


def test_layout_copy_matches_the_shared_fixture(shared_fixtures):
    full = json.loads((shared_fixtures / "med3dvlm_flare_layout.json").read_text())["state_dict"]
    assert _under(full, TOWER_PREFIX) == json.loads(LAYOUT.read_text())["vision_tower"]


def test_dcformer_small_loads_the_reference_weights_strictly(shared_fixtures):
    from safetensors.torch import load_file

    weights = load_file(shared_fixtures / "med3dvlm-tiny" / "checkpoint" / "model.safetensors")
    encoder = dcformer_small(input_size=(16, 32, 32)).eval()
    encoder.load_state_dict({k: v.float() for k, v in _under(weights, TOWER_PREFIX).items()}, strict=True)
    with torch.no_grad():
        features = encoder(torch.rand(1, 1, 16, 32, 32))
    assert [tuple(f.shape[1:]) for f in features] == encoder.feature_shapes()
    assert all(torch.isfinite(f).all() for f in features)


def test_med3dvlm_input_gives_256_and_32_tokens():
    with torch.device("meta"):
        encoder = dcformer_small(input_size=(128, 256, 256))
    assert encoder.feature_shapes() == [(256, 384), (32, 768)]
    assert encoder.feature_grids() == [(4, 8, 8), (2, 4, 4)]


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("input_size", [(32, 64, 64), (20, 40, 56), (8, 8, 8)])
def test_feature_shapes_match_forward_on_meta(size, input_size):
    with torch.device("meta"):
        encoder = DCFormer(size, input_size, select_layer=0).eval()
        features = encoder(torch.empty(2, 1, *input_size))
    assert [tuple(f.shape) for f in features] == [(2, n, c) for n, c in encoder.feature_shapes()]
    assert [c for _, c in encoder.feature_shapes()] == list(SIZES[size][0])


@pytest.mark.parametrize("size", ["nano", "naive"])
def test_feature_shapes_match_a_real_forward(size):
    torch.manual_seed(0)
    encoder = DCFormer(size, (32, 64, 64), select_layer=-2).eval()
    with torch.no_grad():
        features = encoder(torch.rand(1, 1, 32, 64, 64))
    assert [tuple(f.shape[1:]) for f in features] == encoder.feature_shapes()
    assert all(torch.isfinite(f).all() for f in features)


def test_tokens_follow_the_reference_order():
    """Permute (B,1,D,H,W) -> (B,1,H,W,D); flatten each stage as 'b d h w t -> b t h w d', packed."""
    torch.manual_seed(0)
    encoder = dcformer_nano(input_size=(16, 32, 24), select_layer=0).eval()
    images = torch.rand(1, 1, 16, 32, 24)
    with torch.no_grad():
        features = encoder(images)
        stages = encoder.encoder(images.permute(0, 1, 3, 4, 2))
    for feature, stage in zip(features, stages, strict=True):
        expected, _ = pack([rearrange(stage, "b d h w t -> b t h w d")], "b * d")
        assert torch.equal(feature, expected)


@pytest.mark.parametrize(("select_layer", "stages"), [(-1, [4]), (-2, [3, 4]), (0, [0, 1, 2, 3, 4])])
def test_select_layer_picks_the_last_stages(select_layer, stages):
    with torch.device("meta"):
        encoder = dcformer_nano(input_size=(32, 64, 64), select_layer=select_layer)
    assert encoder.select == stages
    assert [c for _, c in encoder.feature_shapes()] == [SIZES["nano"][0][i] for i in stages]


def test_dcformer_gradients_reach_every_parameter():
    torch.manual_seed(0)
    encoder = dcformer_nano(input_size=(32, 64, 64), select_layer=0).train()
    features = encoder(torch.rand(2, 1, 32, 64, 64))
    sum(f.square().mean() for f in features).backward()
    missing = [name for name, p in encoder.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []


def test_dcformer_eval_is_deterministic():
    torch.manual_seed(0)
    encoder = dcformer_nano(input_size=(16, 32, 32)).eval()
    images = torch.rand(2, 1, 16, 32, 32)
    with torch.no_grad():
        first, second = encoder(images), encoder(images)
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"select_layer": -6}, "select_layer=-6"),
        ({"select_layer": 2}, "select_layer=2"),
        ({"select_feature": "cls"}, "select_feature='cls'"),
        ({"input_size": (32, 64)}, "input_size"),
    ],
)
def test_bad_dcformer_options_are_one_line_errors(options, message):
    with pytest.raises(HarnessError, match=message):
        dcformer_nano(**options)


def test_unknown_dcformer_size_is_a_one_line_error():
    with pytest.raises(HarnessError, match="unknown size 'huge'"):
        DCFormer("huge")


def _vit3d_reference_tokens(encoder: Vit3D, images: torch.Tensor, p: int) -> torch.Tensor:
    """Med3DVLM's Vit3D forward, written with its own einops patterns, on ``encoder``'s weights."""
    inner = encoder.encoder
    x = images.permute(0, 1, 3, 4, 2)
    x = rearrange(x, "b c (h p1) (w p2) (t p3) -> b (h w t) (p1 p2 p3 c)", p1=p, p2=p, p3=p)
    for layer in list(inner.to_patch_embedding)[1:]:
        x = layer(x)
    x = torch.cat([inner.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + inner.pos_embedding[:, : x.shape[1] + 1]
    for attn, ff in inner.transformer.layers:
        q, k, v = (rearrange(t, "b n (h d) -> b h n d", h=attn.heads) for t in attn.to_qkv(attn.norm(x)).chunk(3, -1))
        out = rearrange(torch.softmax(q @ k.transpose(-1, -2) * attn.scale, -1) @ v, "b h n d -> b n (h d)")
        x = attn.to_out(out) + x
        x = ff(x) + x
    gx, gy, gz = encoder.grid
    x = rearrange(x[:, 1:], "b (x y z) c -> b c x y z", x=gx, y=gy, z=gz)
    tokens, _ = pack([rearrange(x, "b d h w t -> b t h w d")], "b * d")
    return tokens


def test_vit3d_matches_the_reference_computation():
    torch.manual_seed(0)
    encoder = Vit3D((16, 32, 48), patch_size=8, dim=32, depth=2, heads=2, dim_head=8, mlp_dim=4).eval()
    images = torch.rand(2, 1, 16, 32, 48)
    with torch.no_grad():
        (tokens,) = encoder(images)
        expected = _vit3d_reference_tokens(encoder, images, 8)
    assert tokens.shape == (2, *encoder.feature_shapes()[0]) == (2, 48, 32)
    torch.testing.assert_close(tokens, expected, rtol=1e-5, atol=1e-6)


def test_vit3d_parameter_names_follow_the_reference():
    with torch.device("meta"):
        encoder = Vit3D()
    shapes = _shapes(encoder)
    assert shapes["encoder.pos_embedding"] == [1, 257, 768]
    assert shapes["encoder.to_patch_embedding.1.weight"] == [32768]
    assert shapes["encoder.to_patch_embedding.2.weight"] == [768, 32768]
    assert shapes["encoder.transformer.layers.11.0.to_qkv.weight"] == [1536, 768]
    assert shapes["encoder.transformer.layers.11.0.to_out.0.weight"] == [768, 512]
    assert shapes["encoder.transformer.layers.11.1.net.1.weight"] == [4, 768]
    assert shapes["encoder.transformer.layers.11.1.net.4.weight"] == [768, 4]
    assert encoder.feature_shapes() == [(256, 768)]
    with pytest.raises(HarnessError, match="divisible by patch_size 32"):
        Vit3D((100, 256, 256))


@pytest.mark.slow  # importing MONAI takes 10-20 s
def test_m3d_vit_matches_monai_blocks():
    """M3D builds its ViT from MONAI blocks; the same weights must give the same tokens."""
    monai_blocks = pytest.importorskip("monai.networks.blocks")
    torch.manual_seed(0)
    encoder = M3DViT((8, 32, 32), hidden_size=48, mlp_dim=96, num_layers=2, num_heads=4, select_feature="cls_patch")
    reference = torch.nn.Module()
    reference.patch_embedding = monai_blocks.PatchEmbeddingBlock(
        1, (8, 32, 32), (4, 16, 16), 48, 4, proj_type="perceptron"
    )
    reference.blocks = torch.nn.ModuleList(monai_blocks.TransformerBlock(48, 96, 4, 0.0, False) for _ in range(2))
    reference.norm = torch.nn.LayerNorm(48)
    reference.cls_token = torch.nn.Parameter(torch.zeros(1, 1, 48))
    result = reference.load_state_dict(encoder.state_dict(), strict=False)
    # Newer MONAI adds an unused cross-attention norm; M3D's checkpoints predate it.
    assert result.unexpected_keys == [] and all("norm_cross_attn" in k for k in result.missing_keys)
    images = torch.rand(2, 1, 8, 32, 32)
    with torch.no_grad():
        x = reference.patch_embedding(images)
        x = torch.cat([reference.cls_token.expand(2, -1, -1), x], dim=1)
        for block in reference.blocks:
            x = block(x)
        expected = reference.norm(x)
        (tokens,) = encoder.eval()(images)
    assert tokens.shape == (2, *encoder.feature_shapes()[0]) == (2, 9, 48)
    torch.testing.assert_close(tokens, expected, rtol=1e-5, atol=1e-6)


def test_m3d_vit_flare_baseline_layout():
    with torch.device("meta"):
        encoder = M3DViT()
    shapes = _shapes(encoder)
    assert shapes["patch_embedding.position_embeddings"] == [1, 2048, 768]
    assert shapes["patch_embedding.patch_embeddings.1.weight"] == [768, 1024]
    assert shapes["blocks.11.attn.qkv.weight"] == [2304, 768]
    assert "blocks.0.attn.qkv.bias" not in shapes
    assert shapes["cls_token"] == [1, 1, 768] and shapes["norm.weight"] == [768]
    assert encoder.feature_shapes() == [(2048, 768)]
    assert encoder.feature_grids() == [(8, 16, 16)]


def test_every_registered_encoder_builds_and_declares_its_shapes():
    entries = _registered()
    assert {"dcformer", "dcformer-small", "dcformer-nano", "vit3d", "m3d-vit"} <= set(entries)
    for name, (factory, meta) in entries.items():
        build = _load(factory)
        with torch.device("meta"):
            encoder = build()
        assert encoder.stages == meta["stages"], name
        shapes = encoder.feature_shapes()
        assert shapes and all(n > 0 and c > 0 for n, c in shapes), name
        assert len(encoder.feature_grids()) == len(shapes), name


def test_registered_options_are_the_factory_defaults():
    for name, (factory, meta) in _registered().items():
        target = _load(factory)
        if not inspect.isclass(target):
            target = DCFormer  # the dcformer size functions forward their options to DCFormer
        defaults = {k: p.default for k, p in inspect.signature(target).parameters.items()}
        for option, value in meta["options"].items():
            assert defaults[option] == (tuple(value) if isinstance(value, list) else value), (name, option)


def test_importing_the_entry_points_does_not_import_torch():
    code = (
        "import sys, harness_plugins.encoders, harness_plugins.projectors; "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.slow  # a full-size (128 x 256 x 256) DCFormer-small forward
def test_dcformer_and_mixer_reproduce_the_reference_logits(shared_fixtures):
    """The vision half alone, spliced by hand into the fixture's tiny Qwen2 (positions 1..256), as the reference does.

    Independent of the harness assembly: if this passes and the assembled model does not, the fault is
    in the assembly.
    """
    from safetensors.torch import load_file
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from harness_plugins.projectors.mixer import MixerProjector

    tiny = shared_fixtures / "med3dvlm-tiny"
    config = json.loads((tiny / "checkpoint" / "config.json").read_text())
    weights = {k: v.float() for k, v in load_file(tiny / "checkpoint" / "model.safetensors").items()}
    encoder = dcformer_small(input_size=config["input_size"], select_layer=config["vision_select_layer"]).eval()
    encoder.load_state_dict(_under(weights, TOWER_PREFIX))
    projector = MixerProjector(
        encoder.feature_shapes(),
        out_dim=config["hidden_size"],
        low_output_size=config["low_output_size"],
        high_output_size=config["high_output_size"],
        mlp_depth=config["mm_mlp_depth"],
    ).eval()
    projector.load_state_dict(_under(weights, PROJECTOR_PREFIX))
    fields = ["hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
              "vocab_size", "rms_norm_eps", "rope_theta", "max_position_embeddings", "tie_word_embeddings"]
    llm = Qwen2ForCausalLM(Qwen2Config(**{k: config[k] for k in fields})).eval()
    llm.load_state_dict({k: v for k, v in weights.items() if not k.startswith(("model.vision_tower.", "model.mm_"))})

    # Volume "a" of the fixture README, computed in float64 then cast.
    z = torch.arange(128, dtype=torch.float64).reshape(128, 1, 1)
    y = torch.arange(256, dtype=torch.float64).reshape(1, 256, 1)
    x = torch.arange(256, dtype=torch.float64).reshape(1, 1, 256)
    volume = 0.5 + 0.25 * torch.sin(z * 0.11 + y * 0.05) * torch.cos(x * 0.07)
    volume = volume + 0.2 * torch.cos((x + y) * 0.013 - z * 0.031)
    images = volume.clamp(0, 1).float()[None, None]
    assert hashlib.sha256(images.numpy().tobytes()).hexdigest() == VOLUME_A_SHA256
    ids = torch.tensor([json.loads((tiny / "expected.json").read_text())["prompts"]["report"]])
    with torch.no_grad():
        visual = projector(encoder(images))
        embeds = llm.get_input_embeddings()(ids)
        embeds = torch.cat([embeds[:, :1], visual, embeds[:, 1 + visual.shape[1] :]], dim=1)
        logits = llm(inputs_embeds=embeds).logits[0]
    expected = load_file(tiny / "expected_logits.safetensors")["logits_report"]
    assert ((logits - expected).norm() / expected.norm()).item() < 1e-5
