"""HRViT: its variants' widths and outputs, the parts (stripe attention with
shared key-value and masked padding, the Kronecker-factored shortcut,
MixCFN, dense fusion), the OpenMMLab arguments shared with HIRI-ViT, and
its published parameter counts."""
import pytest
import torch
from helpers import train_step

from mmhirivit.models import HRViT
from mmhirivit.models.backbones.hrvit import (DES, HRViTBlock, StripeAttention,
                                              kronecker_factor,
                                              stripe_attention)

WIDTHS = {'b1': [32, 64, 128, 256], 'b2': [48, 96, 240, 384],
          'b3': [64, 128, 256, 512]}
TINY = dict(embed_dims=[16, 32, 48, 64], depths=[[1], [1, 1], [1, 1, 1],
                                                 [1, 1, 1], [1, 1, 1, 1],
                                                 [1, 1, 1, 1]],
            head_dim=8, mlp_ratios=[2, 2, 2, 2])


def tiny(**kwargs):
    return HRViT(arch=TINY, **kwargs)


@pytest.mark.parametrize('arch', sorted(WIDTHS))
def test_four_branches_at_strides_4_to_32(arch):
    model = HRViT(arch=arch).eval()
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 100, 130))
    assert [o.shape[1] for o in outs] == WIDTHS[arch] == list(
        model.out_channels)
    assert [tuple(o.shape[-2:]) for o in outs] == [
        (-(-100 // s), -(-130 // s)) for s in (4, 8, 16, 32)]
    assert model.strides == (4, 8, 16, 32)


def test_out_indices_and_odd_sizes():
    model = tiny(out_indices=(1, -1)).eval()
    with torch.no_grad():
        outs = model(torch.rand(2, 3, 33, 47))
    assert [o.shape[1] for o in outs] == [32, 64]
    assert [tuple(o.shape[-2:]) for o in outs] == [(5, 6), (2, 2)]


def _naive_stripes(q, v, width, heads, vertical):
    """Stripe attention written out stripe by stripe: the last stripe
    simply shorter, nothing padded."""
    if vertical:
        q, v = q.transpose(1, 2), v.transpose(1, 2)
    B, H, W, c = q.shape
    out = torch.empty_like(q)
    for top in range(0, H, width):
        qs = q[:, top:top + width].reshape(B, -1, heads, c // heads)
        vs = v[:, top:top + width].reshape(B, -1, heads, c // heads)
        attn = torch.einsum('bqhd,bkhd->bhqk', qs, vs) * (c // heads)**-0.5
        rows = torch.einsum('bhqk,bkhd->bqhd', attn.softmax(-1), vs)
        out[:, top:top + width] = rows.reshape(B, -1, W, c)
    return out.transpose(1, 2) if vertical else out


@pytest.mark.parametrize('vertical', [False, True])
@pytest.mark.parametrize('size', [(7, 9), (8, 6)])
def test_stripe_attention_masks_its_padding(vertical, size):
    """The key is the value, and a last stripe cut short by the map's edge
    attends within what is there (the padding is masked)."""
    q, v = torch.randn(2, *size, 8), torch.randn(2, *size, 8)
    torch.testing.assert_close(
        stripe_attention(q, v, 3, 2, vertical),
        _naive_stripes(q, v, 3, 2, vertical))


def test_heads_per_half():
    assert StripeAttention(32, 32, 1, dict(type='BN')).heads == 1
    assert StripeAttention(256, 32, 7, dict(type='BN')).heads == 4
    assert StripeAttention(240, 24, 7, dict(type='BN')).heads == 5


@pytest.mark.parametrize('channels, p', [(32, 8), (48, 8), (96, 8),
                                         (240, 16), (384, 16), (512, 32)])
def test_the_shortcut_is_kronecker_factored(channels, p):
    assert kronecker_factor(channels) == p
    shortcut = DES(channels)
    assert sum(t.numel() for t in shortcut.parameters()) == (
        p * p + p + (channels // p)**2 + channels // p)
    x = torch.randn(2, 3, 4, channels)
    assert shortcut(x).shape == x.shape


def test_a_block_starts_as_its_shortcut():
    """The attention's output BN starts at zero: before training a block is
    ``x + DES(x) + MixCFN(LN(x))``, the attention adding nothing."""
    model = tiny().eval()
    model.init_weights()
    block = model.units[0].branches[0][0]
    assert isinstance(block, HRViTBlock)
    x = torch.randn(1, 4, 5, 16)
    with torch.no_grad():
        attn = block.attn(block.norm1(x))
    assert torch.count_nonzero(attn) == 0


def test_drop_path_rises_over_the_longest_branches():
    model = HRViT(arch='b1', drop_path_rate=0.21)
    rates = {}
    for u, unit in enumerate(model.units):
        for branch in unit.branches:
            for j, block in enumerate(branch):
                rate = getattr(block.drop_path, 'drop_prob', 0.)
                rates.setdefault((u, j), set()).add(rate)
    # Block j of a unit has one rate in every branch; 22 rates in all.
    assert all(len(r) == 1 for r in rates.values()) and len(rates) == 22
    ordered = [r.pop() for _, r in sorted(rates.items())]
    assert ordered == sorted(ordered) and ordered[-1] == pytest.approx(0.21)


def test_frozen_stages_and_norm_eval():
    model = tiny(frozen_stages=2, norm_eval=True).train()
    frozen = {n.split('.')[0] + ('.' + n.split('.')[1]
                                 if n.startswith('units') else '')
              for n, p in model.named_parameters() if not p.requires_grad}
    assert frozen == {'stem', 'units.0', 'units.1'}
    assert not any(m.training for m in model.modules()
                   if isinstance(m, torch.nn.modules.batchnorm._BatchNorm))


@pytest.mark.parametrize('kwargs', [dict(with_cp=True),
                                    dict(with_cp=(False, False, True, True))])
def test_with_cp_same_outputs_and_gradients(kwargs):
    torch.manual_seed(0)
    plain = tiny(drop_path_rate=0.2)
    recomputed = tiny(drop_path_rate=0.2, **kwargs)
    recomputed.load_state_dict(plain.state_dict())
    x = torch.rand(2, 3, 64, 64)
    torch.testing.assert_close(train_step(plain, x, seed=1),
                               train_step(recomputed, x, seed=1))


@pytest.mark.parametrize('kwargs, error, words', [
    (dict(arch='b4'), ValueError, ["'b4'", "'b1'"]),
    (dict(arch={**TINY, 'depths': [[1]] * 6}), ValueError,
     ["arch['depths']", '(1, 2, 3, 3, 4, 4)']),
    (dict(arch={**TINY, 'embed_dims': [16, 32, 48]}), ValueError,
     ["arch['embed_dims']", '4 positive even']),
    (dict(out_indices=4), ValueError, ['out_indices', '-4..3']),
    (dict(frozen_stages=5), ValueError, ['frozen_stages', '-1..4']),
    (dict(drop_path_rate=1), ValueError, ['drop_path_rate', '[0, 1)']),
    (dict(with_cp=(True, ) * 5), TypeError, ['with_cp', '4 of them']),
    (dict(norm_eval=1), TypeError, ['norm_eval', '1']),
    (dict(window_sizes=(1, 2, 7)), ValueError, ['window_sizes', '4 positive']),
])
def test_bad_arguments_name_the_value(kwargs, error, words):
    kwargs.setdefault('arch', TINY)
    with pytest.raises(error) as info:
        HRViT(**kwargs)
    for word in words:
        assert word in str(info.value)


def test_bad_input_is_one_line():
    model = tiny()
    with pytest.raises(ValueError, match=r'\(N, 3, H, W\)'):
        model(torch.rand(1, 1, 64, 64))
    with pytest.raises(ValueError, match='at least 32x32'):
        model(torch.rand(1, 3, 16, 64))


def test_pretrained_init_cfg_loads_safely(tmp_path):
    source = tiny().eval()
    path = tmp_path / 'hrvit.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in
                               source.state_dict().items()}}, path)
    loaded = tiny(init_cfg=dict(type='Pretrained', checkpoint=str(path),
                                prefix='backbone.')).eval()
    loaded.init_weights()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(source(x), loaded(x))
