import logging
import math
from copy import deepcopy

import pytest
import torch
from helpers import train_step
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from torch.nn.modules.batchnorm import _BatchNorm

from mmhirivit.models import HIRIViT
from mmhirivit.models.backbones.hirivit import (CFFNBlock, HRBlock, HRStem,
                                                IRDSa, IRDSb, TransformerBlock)

TINY = 't'
CUSTOM = dict(embed_dims=[8, 16, 32, 64, 64], depths=[2, 2, 1, 1, 1],
              mlp_ratios=[2, 2, 2, 2, 2])


def small(**kwargs):
    kwargs.setdefault('arch', CUSTOM)
    return HIRIViT(**kwargs)


@pytest.mark.parametrize('arch', ['t', 's', 'b', 'l'])
def test_arch_zoo_shapes(arch):
    model = HIRIViT(arch=arch, out_indices=(0, 1, 2, 3, 4)).eval()
    dims = HIRIViT.arch_zoo[arch]['embed_dims']
    assert model.out_channels == tuple(dims)
    assert model.strides == (4, 8, 16, 32, 64)
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == dims
    assert [o.shape[-1] for o in outs] == [16, 8, 4, 2, 1]


@pytest.mark.parametrize('size', [(64, 64), (97, 131), (65, 200)])
def test_odd_sizes_give_ceil(size):
    model = small(out_indices=(0, 1, 2, 3, 4)).eval()
    with torch.no_grad():
        outs = model(torch.rand(2, 3, *size))
    for out, stride in zip(outs, model.strides):
        assert out.shape[0] == 2
        assert out.shape[-2:] == (math.ceil(size[0] / stride),
                                  math.ceil(size[1] / stride))


def test_parts_are_the_papers():
    model = HIRIViT(arch=TINY)
    assert isinstance(model.stem, HRStem)
    kinds = [HRBlock, HRBlock, CFFNBlock, TransformerBlock, TransformerBlock]
    for stage, kind in zip(model.stages, kinds):
        assert all(isinstance(block, kind) for block in stage)
    assert [type(d) for d in model.downsamples[1:]] == [IRDSa, IRDSa, IRDSb,
                                                         IRDSb]
    # IRDS has "two parallel branches": a main path and a down-sampling
    # shortcut, in IRDS-a as in IRDS-b.
    for irds in model.downsamples[1:]:
        assert isinstance(irds.shortcut[0], torch.nn.AvgPool2d)
    # §4.4: BN in the stem, stages 1-3 and before every CFFN; LN in stages
    # 4-5 otherwise: in IRDS-b, before attention and on their outputs.
    model = HIRIViT(arch=TINY, out_indices=(0, 1, 2, 3, 4))
    norms = {name: type(module).__name__
             for name, module in model.named_modules()
             if isinstance(module, (torch.nn.LayerNorm, _BatchNorm))}
    layer_norms = {name for name, kind in norms.items()
                   if kind in ('LayerNorm', 'LayerNorm2d')}
    assert layer_norms == {
        'downsamples.3.expand.1', 'downsamples.4.expand.1', 'norm3', 'norm4',
        *(f'stages.{i}.{j}.norm1' for i in (3, 4) for j in range(2))}
    assert {f'stages.{i}.{j}.norm2' for i in (3, 4) for j in range(2)} <= (
        norms.keys() - layer_norms)
    assert all(n.startswith(('stem', 'stages.0', 'stages.1', 'stages.2',
                             'downsamples.1', 'downsamples.2', 'norm0',
                             'norm1', 'norm2')) or n.endswith('norm2')
               for n in norms.keys() - layer_norms)


def test_layer_norms_of_stages_4_and_5_normalise_channels():
    model = HIRIViT(arch=TINY, out_indices=(3, 4)).eval()
    x = torch.rand(1, 3, 128, 128)
    with torch.no_grad():
        stage4, stage5 = model(x)
    # The output LN's statistics are per position, over the channels.
    for out in (stage4, stage5):
        torch.testing.assert_close(out.mean(1), torch.zeros_like(out[:, 0]),
                                   atol=1e-5, rtol=0)
    # It is torch's LayerNorm over channels-last maps.
    norm = model.norm4
    torch.nn.init.normal_(norm.weight)
    torch.nn.init.normal_(norm.bias)
    maps = torch.randn(2, norm.normalized_shape[0], 3, 5)
    expected = torch.nn.functional.layer_norm(
        maps.permute(0, 2, 3, 1), norm.normalized_shape, norm.weight,
        norm.bias, norm.eps).permute(0, 3, 1, 2)
    torch.testing.assert_close(norm(maps), expected, rtol=1e-5, atol=1e-5)


def test_irds_a_sums_its_two_branches():
    irds = IRDSa(8, 16, 2, dict(type='BN'), dict(type='GELU')).eval()
    x = torch.rand(1, 8, 9, 9)
    with torch.no_grad():
        out = irds(x)
        main = irds.compress(irds.expand(x))
        torch.testing.assert_close(out, main + irds.shortcut(x))
    assert out.shape == (1, 16, 5, 5)


@pytest.mark.parametrize('arch', ['t', 's', 'b', 'l'])
def test_arch_zoo_follows_the_paper(arch):
    settings = HIRIViT.arch_zoo[arch]
    ratios, depths = settings['mlp_ratios'], settings['depths']
    # Stages 1-3 (no attention) expand more than the Transformer stages 4-5.
    assert min(ratios[:3]) > max(ratios[3:])
    # Two stacked HR-blocks per CFFN they replaced, in stages 1-2.
    assert depths[0] % 2 == 0 and depths[1] % 2 == 0
    model = HIRIViT(arch=arch)
    assert [len(stage) for stage in model.stages] == depths

    def expansion(block):
        if isinstance(block, HRBlock):
            return block.low_res[1].conv.out_channels // block.norm.num_features
        return block.ffn.fc1.out_channels // block.ffn.fc1.in_channels

    assert [[expansion(block) for block in stage]
            for stage in model.stages] == [[r] * d
                                           for r, d in zip(ratios, depths)]


@pytest.mark.parametrize('out_indices,expected', [
    (4, (4, )), ([1, 2, 3, 4], (1, 2, 3, 4)), ((-1, 0), (0, 4)),
    ((-4, -3, -2, -1), (1, 2, 3, 4))
])
def test_out_indices_forms(out_indices, expected):
    given = deepcopy(out_indices)
    model = small(out_indices=out_indices).eval()
    assert out_indices == given, "the caller's out_indices changed"
    assert model.out_indices == expected
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 64, 64))
    assert len(outs) == len(expected)
    assert [o.shape[1] for o in outs] == [CUSTOM['embed_dims'][i]
                                         for i in expected]


def test_default_out_indices_are_dense_prediction():
    model = HIRIViT(arch=TINY)
    assert model.out_indices == (1, 2, 3, 4)
    assert model.strides == (8, 16, 32, 64)


@pytest.mark.parametrize('arch', [CUSTOM, 's'])
def test_four_stage_form(arch):
    """num_stages=4 (ours, for 224 inputs): the HR-stem to stride 4 at
    stage 2's width, then stages 2-5 with the five-stage form's weights."""
    four = HIRIViT(arch=arch, num_stages=4, out_indices=(1, 2, 3, 4))
    five = HIRIViT(arch=arch, out_indices=(1, 2, 3, 4))
    dims = four.arch_settings['embed_dims']
    assert four.strides == (4, 8, 16, 32) and four.out_channels == tuple(
        dims[1:])
    assert len(four.stages[0]) == 0 and four.stem.norm.num_features == dims[1]
    shapes = {k: v.shape for k, v in four.state_dict().items()}
    shared = {k: v.shape for k, v in five.state_dict().items()
              if not k.startswith(('stem.', 'stages.0.', 'downsamples.1.'))}
    assert shared == {k: v for k, v in shapes.items()
                      if not k.startswith('stem.')}
    x = torch.rand(2, 3, 32, 48, requires_grad=True)
    outs = four(x)
    assert [o.shape[-2:] for o in outs] == [(8, 12), (4, 6), (2, 3), (1, 2)]
    sum(o.mean() for o in outs).backward()
    assert x.grad is not None and all(
        p.grad is not None for p in four.parameters())
    with pytest.raises(ValueError, match='at least 32x32'):
        four(torch.rand(1, 3, 31, 32))


def test_custom_arch_and_long_names():
    assert small().arch_settings == CUSTOM
    assert HIRIViT(arch='small').arch_settings == HIRIViT.arch_zoo['s']
    assert HIRIViT(arch='T').arch_settings == HIRIViT.arch_zoo['t']


@pytest.mark.parametrize('kwargs,error,words', [
    (dict(arch='huge'), ValueError, ["'huge'", "'s'", "'small'"]),
    (dict(arch=3), TypeError, ['int', '3']),
    (dict(arch={k: v for k, v in CUSTOM.items() if k != 'depths'}),
     ValueError, ["missing ['depths']"]),
    (dict(arch={**CUSTOM, 'num_heads': [1] * 5}), ValueError,
     ["unexpected ['num_heads']"]),
    (dict(arch={**CUSTOM, 'depths': [1, 1, 1, 1]}), ValueError,
     ["arch['depths']", '5 positive']),
    (dict(arch={**CUSTOM, 'embed_dims': [8, 16, 32, 48, 64]}), ValueError,
     ['embed_dims[3]=48', 'head_dim=32']),
    (dict(arch={**CUSTOM, 'embed_dims': [8, 16, 32.5, 64, 64]}), ValueError,
     ["arch['embed_dims']", 'positive ints', '32.5']),
    (dict(arch={**CUSTOM, 'depths': [2, 3, 1, 1, 1]}), ValueError,
     ["arch['depths'][1]=3", 'even', 'pairs']),
    (dict(arch={**CUSTOM, 'mlp_ratios': [2, 2, 0, 2, 2]}), ValueError,
     ["arch['mlp_ratios']", '5 positive numbers', '0']),
    (dict(arch={**CUSTOM, 'mlp_ratios': [2, 2, -1, 2, 2]}), ValueError,
     ["arch['mlp_ratios']", '-1']),
    (dict(head_dim=0), ValueError, ['head_dim', '0']),
    (dict(ds_ratios=(2, 2, 4)), ValueError, ['ds_ratios', '4 positive']),
    (dict(ds_ratios=(2, 2, 0, 4)), ValueError, ['ds_ratios', '(2, 2, 0, 4)']),
    (dict(drop_path_rate=1.0), ValueError, ['drop_path_rate', '[0, 1)']),
    (dict(drop_path_rate=-0.1), ValueError, ['drop_path_rate', '-0.1']),
    (dict(norm_eval='yes'), TypeError, ['norm_eval', "'yes'"]),
    (dict(with_cp=1), TypeError, ['with_cp', '1']),
    (dict(with_cp=(True, False)), TypeError, ['with_cp', '5 of them']),
    (dict(num_stages=4, with_cp=(True, ) * 5), TypeError,
     ['with_cp', '4 of them']),
    (dict(out_norms=[True, 'no', True, True]), ValueError, ['out_norms']),
    (dict(out_indices=5), ValueError, ['5', '-5..4']),
    (dict(out_indices=(-6, )), ValueError, ['-6', '-5..4']),
    (dict(out_indices=(1, -4)), ValueError, ['twice']),
    (dict(out_indices=()), TypeError, ['non-empty']),
    (dict(out_indices='1'), TypeError, ["'1'"]),
    (dict(num_stages=3), ValueError, ['num_stages', '(4, 5)', '3']),
    (dict(num_stages=4, out_indices=(0, 4)), ValueError,
     ['entry 0', '-4..-1 and 1..4', 'absent in the four-stage form']),
    (dict(num_stages=4, out_indices=-5), ValueError, ['-5', '-4..-1']),
    (dict(frozen_stages=6), ValueError, ['6', '-1..5']),
    (dict(frozen_stages=-2), ValueError, ['-2', '-1..5']),
    (dict(out_norms=[True]), ValueError, ['one flag per out_indices']),
    (dict(in_channels=0), ValueError, ['in_channels', '0']),
    (dict(norm_cfg=dict(type='LN')), ValueError,
     ["'LN'", "'SyncBN'", 'stages 4-5 use LN otherwise (paper §4.4)']),
    (dict(norm_cfg='BN'), ValueError, ['norm_cfg', "'BN'"]),
    (dict(act_cfg=dict(type='Swish2')), ValueError, ['act_cfg', 'Swish2']),
    (dict(init_cfg='kaiming'), ValueError, ['init_cfg', "'kaiming'"]),
])
def test_bad_arguments(kwargs, error, words):
    with pytest.raises(error) as info:
        small(**kwargs) if 'arch' not in kwargs else HIRIViT(**kwargs)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize('shape,words', [
    ((1, 3, 63, 64), ['at least 64', '(63, 64)']),
    ((1, 1, 64, 64), ['(N, 3, H, W)', '(1, 1, 64, 64)']),
    ((3, 64, 64), ['(N, 3, H, W)', '(3, 64, 64)']),
])
def test_bad_inputs(shape, words):
    with pytest.raises(ValueError) as info:
        small()(torch.rand(*shape))
    for word in words:
        assert word in str(info.value)


def _frozen(module):
    return all(not p.requires_grad for p in module.parameters()) and \
        not any(m.training for m in module.modules())


# Windowed attention (ours, for detection-scale inputs): T's stages 4-5 have
# 2 blocks each; at 448 their grids are 14x14 and 7x7, at 384 12x12 and 6x6.
@pytest.mark.parametrize('size', [448, 384])
def test_windows_as_large_as_the_map_are_global_attention(size):
    torch.manual_seed(0)
    global_ = HIRIViT(arch=TINY, out_indices=(3, 4)).eval()
    windowed = HIRIViT(arch=TINY, out_indices=(3, 4),
                       window_size=(14, 7)).eval()
    # The same parameters: ImageNet weights load unchanged.
    windowed.load_state_dict(global_.state_dict(), strict=True)
    x = torch.rand(1, 3, size, size)
    with torch.no_grad():
        for ours, theirs in zip(windowed(x), global_(x)):
            torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)


def test_windows_pad_crop_train_and_keep_global_blocks():
    model = HIRIViT(arch=TINY, out_indices=(3, 4), window_size=(4, None),
                    global_blocks=((-1, ), ()))
    assert [b.window_size for b in model.stages[3]] == [4, None]
    assert [b.window_size for b in model.stages[4]] == [None, None]
    x = torch.rand(2, 3, 320, 448)  # stage 4: 10x14 tokens, padded to 12x16
    outs = model(x)
    assert [o.shape[-2:] for o in outs] == [(10, 14), (5, 7)]
    sum(o.sum() for o in outs).backward()
    assert model.stages[3][0].attn.qkv.weight.grad is not None
    # A window smaller than the map differs from global attention.
    global_ = HIRIViT(arch=TINY, out_indices=(3, 4)).eval()
    global_.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert not torch.allclose(model.eval()(x)[0], global_(x)[0])


@pytest.mark.parametrize('kwargs, words', [
    (dict(window_size=14), 'window_size must be None or two entries'),
    (dict(window_size=(14, 0)), 'a positive int or None'),
    (dict(global_blocks=((0, ), ())), 'needs window_size'),
    (dict(window_size=(14, 7), global_blocks=((2, ), ())),
     'global_blocks [2] out of range for stage 4, which has 2 blocks'),
    (dict(window_size=(14, 7), global_blocks=(0, 1)),
     'global_blocks must be two sequences'),
])
def test_bad_windows(kwargs, words):
    with pytest.raises(ValueError) as info:
        HIRIViT(arch=TINY, **kwargs)
    assert words in str(info.value)


@pytest.mark.parametrize('frozen_stages', [-1, 0, 1, 3, 5])
def test_frozen_stages(frozen_stages):
    model = small(frozen_stages=frozen_stages, out_indices=(0, 1, 2, 3, 4))
    model.train()
    stats = {
        name: m.running_mean.clone()
        for name, m in model.named_modules() if isinstance(m, _BatchNorm)
    }
    model(torch.rand(2, 3, 64, 64))
    assert _frozen(model.stem) == (frozen_stages >= 0)
    for i in range(5):
        parts = [model.downsamples[i], model.stages[i],
                 getattr(model, f'norm{i}')]
        for part in parts:
            if i < frozen_stages:
                assert _frozen(part)
            else:
                assert all(p.requires_grad for p in part.parameters())
                assert part.training
    for name, m in model.named_modules():
        if isinstance(m, _BatchNorm):
            stage = -1 if name.startswith('stem') else int(
                name.split('.')[1] if '.' in name else name[-1])
            unchanged = torch.equal(stats[name], m.running_mean)
            assert unchanged == (stage < frozen_stages), name


def test_norm_eval():
    model = small(norm_eval=True)
    model.train()
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert bns and not any(m.training for m in bns)
    assert model.stages[0].training


def test_drop_path_schedule():
    model = HIRIViT(arch='s', drop_path_rate=0.2)
    rates = [
        getattr(block.drop_path, 'drop_prob', 0.) for stage in model.stages
        for block in stage
    ]
    expected = torch.linspace(0, 0.2, sum(HIRIViT.arch_zoo['s']['depths']))
    assert torch.allclose(torch.tensor(rates), expected)


@pytest.mark.parametrize('kwargs', [
    dict(with_cp=True),
    dict(with_cp=(True, True, False, False, False)),
    dict(with_cp=True, frozen_stages=2),  # no gradient into stage 3
    dict(with_cp=(True, True, True, False), num_stages=4),
])
def test_with_cp_same_outputs_gradients_and_statistics(kwargs):
    """Recomputation changes neither the outputs nor the gradients, with
    drop path on (its draws repeat in the recomputation), nor the BN running
    statistics (updated once, not twice)."""
    torch.manual_seed(0)
    settings = dict(drop_path_rate=0.3, **kwargs)
    plain = small(**{**settings, 'with_cp': False})
    checkpointed = small(**settings)
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.rand(2, 3, 64, 64)
    torch.testing.assert_close(train_step(plain, x),
                               train_step(checkpointed, x))


def test_with_cp_recomputes_the_flagged_stages_only():
    """Each block of stage 2 (flagged) starts twice, forward and
    recomputed (the recomputation may stop early, once it has what backward
    needs); the others once."""
    model = small(with_cp=(False, True, False, False, False))
    runs = []
    for i, stage in enumerate(model.stages):
        for block in stage:
            block.register_forward_pre_hook(
                lambda module, args, i=i: runs.append(i))
    train_step(model, torch.rand(2, 3, 64, 64))
    depths = [len(stage) for stage in model.stages]
    assert [runs.count(i) for i in range(5)] == [
        d * (2 if i == 1 else 1) for i, d in enumerate(depths)]


def test_init_weights_changes_weights():
    model = small()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.init_weights()
    changed = [k for k, v in model.state_dict().items()
               if not torch.equal(before[k], v)]
    assert any('qkv.weight' in k for k in changed)
    assert any('stem.conv.conv.weight' in k for k in changed)


def test_pretrained_init_cfg_reproduces_outputs(tmp_path):
    torch.manual_seed(0)
    source = small().eval()
    source.init_weights()
    ckpt = tmp_path / 'backbone.pth'
    torch.save({'state_dict': {f'backbone.{k}': v
                               for k, v in source.state_dict().items()}}, ckpt)
    loaded = small(init_cfg=dict(type='Pretrained', checkpoint=str(ckpt),
                                 prefix='backbone.')).eval()
    loaded.init_weights()
    x = torch.rand(1, 3, 80, 64)
    with torch.no_grad():
        for a, b in zip(source(x), loaded(x)):
            assert torch.equal(a, b)


class ListHandler(logging.Handler):

    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_pretrained_reports_missing_keys(tmp_path):
    source = small()
    state = {f'backbone.{k}': v for k, v in source.state_dict().items()
             if not k.startswith('stages.4')}
    ckpt = tmp_path / 'partial.pth'
    torch.save({'state_dict': state}, ckpt)
    loaded = small(init_cfg=dict(type='Pretrained', checkpoint=str(ckpt),
                                 prefix='backbone.'))
    handler = ListHandler()
    MMLogger.get_instance('test_missing_keys').addHandler(handler)
    loaded.init_weights()
    text = '\n'.join(handler.messages)
    assert 'missing keys' in text and 'stages.4' in text


@pytest.mark.parametrize('scope,registry', [
    ('mmdet', 'mmdet.registry'), ('mmseg', 'mmseg.registry'),
    ('mmpretrain', 'mmpretrain.registry')
])
def test_builds_through_codebase_registries(scope, registry):
    import importlib
    models = importlib.import_module(registry).MODELS
    init_default_scope(scope)
    model = models.build(dict(type='mmhirivit.HIRIViT', arch=TINY))
    assert isinstance(model, HIRIViT)


def test_train_step_updates_weights():
    torch.manual_seed(0)
    model = small(drop_path_rate=0.1)
    head = torch.nn.Linear(sum(model.out_channels), 3)
    params = list(model.parameters()) + list(head.parameters())
    optim = torch.optim.AdamW(params, lr=1e-3)
    before = [p.clone() for p in model.parameters()]
    outs = model(torch.rand(4, 3, 64, 64))
    logits = head(torch.cat([o.mean((2, 3)) for o in outs], 1))
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2,
                                                                   0]))
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    optim.step()
    assert all(not torch.equal(a, b)
               for a, b in zip(before, model.parameters()))


def test_bf16_autocast_stays_close_to_fp32():
    """Mixed precision (bf16 autocast, as --amp bf16 on a GPU) gives the
    outputs and gradients of fp32 within bf16's precision; attention runs
    through scaled_dot_product_attention, whose softmax does not overflow."""
    torch.manual_seed(0)
    model = HIRIViT(arch=TINY).train()
    x = torch.randn(2, 3, 128, 128)
    with torch.no_grad():  # a loss that batch norm does not make constant
        weights = [torch.randn_like(out) for out in model(x)]
    results = []
    for autocast in (False, True):
        model.zero_grad()
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
            outs = model(x)
        sum((out.float() * w).mean() for out, w in zip(outs, weights)
            ).backward()
        grads = torch.cat([p.grad.flatten() for p in model.parameters()])
        results.append(([out.float() for out in outs], grads))
    (fp32, grads32), (bf16, grads16) = results
    for a, b in zip(fp32, bf16):
        assert torch.isfinite(b).all()
        assert (a - b).norm() / a.norm() < 0.05
    assert (grads32 - grads16).norm() / grads32.norm() < 0.1


def _with_bn_statistics(model):
    """``model`` with non-trivial BN affine parameters and running
    statistics, in eval mode."""
    torch.manual_seed(0)
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.normal_(0, 0.5)
    with torch.no_grad():
        model.train()
        model(torch.rand(2, 3, 96, 96))
    return model.eval()


@pytest.mark.parametrize('num_stages', [5, 4])
def test_switch_to_deploy_folds_bn_and_keeps_outputs(num_stages):
    model = _with_bn_statistics(
        HIRIViT(arch=TINY, num_stages=num_stages, out_indices=(1, 2, 3, 4)))
    x = torch.rand(1, 3, 96, 128)
    with torch.no_grad():
        expected = model(x)
    assert model.switch_to_deploy() is model
    with torch.no_grad():
        outs = model(x)
    for out, want in zip(outs, expected):
        torch.testing.assert_close(out, want, rtol=1e-4, atol=1e-5)
    # What stays: the HR-blocks' pre-norms (they feed zero-padded 3x3
    # convs) and the output norms of stages 2-3.
    left = [name for name, m in model.named_modules()
            if isinstance(m, _BatchNorm)]
    assert left and all(name.endswith('.norm') and name.startswith(
        ('stages.0.', 'stages.1.')) or name in ('norm1', 'norm2')
        for name in left), left
    assert model.switch_to_deploy() is model  # a second call does nothing
    with pytest.raises(RuntimeError, match='cannot train'):
        model.train()


def test_switch_to_deploy_in_train_mode_folds_the_inference_statistics():
    """mmdeploy calls ``switch_to_deploy()`` before ``eval()``."""
    model = _with_bn_statistics(HIRIViT(arch=TINY))
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        expected = model(x)
        model.train().switch_to_deploy()
        outs = model(x)
    assert not model.training
    for out, want in zip(outs, expected):
        torch.testing.assert_close(out, want, rtol=1e-4, atol=1e-5)


def _relative(a, b):
    return ((a - b).norm() / b.norm()).item()


def test_channels_last_is_the_nchw_network(tmp_path):
    """``channels_last`` changes the speed only: the plain NCHW network's
    checkpoint loads, and outputs and gradients agree (fp32, 1e-5 relative),
    in train and eval mode. Gradients are compared as one vector: those of
    the layers before a train-mode BN are small differences of large terms,
    and differ by about 1% per parameter between two runs of the plain
    network itself at 1 and 2 threads."""
    torch.manual_seed(0)
    plain = HIRIViT(arch=TINY, out_indices=(0, 1, 2, 3, 4),
                    channels_last=False)
    torch.save(plain.state_dict(), tmp_path / 'plain.pth')
    fast = HIRIViT(arch=TINY, out_indices=(0, 1, 2, 3, 4))
    fast.load_state_dict(torch.load(tmp_path / 'plain.pth'))
    assert fast.stem.conv.conv.weight.is_contiguous(
        memory_format=torch.channels_last)
    x = torch.rand(2, 3, 96, 128)
    for mode in (True, False):
        results = []
        for model in (plain, fast):
            model.train(mode)
            model.zero_grad()
            outs = model(x)
            assert all(out.is_contiguous() for out in outs)
            sum(out.square().mean() for out in outs).backward()
            results.append((outs, torch.cat(
                [p.grad.flatten() for p in model.parameters()])))
        (outs, grads), (fast_outs, fast_grads) = results
        for a, b in zip(fast_outs, outs):
            assert _relative(a, b) < 1e-5
        assert _relative(fast_grads, grads) < 1e-5


def test_layer_wise_lr_decay_with_mmpretrains_constructor():
    """get_layer_depth() lets mmpretrain's layer-decay constructor scale the
    learning rate block by block, from the stem (lowest) to the head."""
    from mmpretrain.engine.optimizers import \
        LearningRateDecayOptimWrapperConstructor

    from mmhirivit.analysis.builders import build_classifier
    model = build_classifier('t')
    constructor = LearningRateDecayOptimWrapperConstructor(
        dict(type='OptimWrapper',
             optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05)),
        dict(layer_decay_rate=0.5))
    lrs = {g['param_name']: g['lr']
           for g in constructor(model).optimizer.param_groups}
    num_layers = sum(len(stage) for stage in model.backbone.stages) + 2
    assert lrs['backbone.stem.conv.conv.weight'] == pytest.approx(
        1e-3 * 0.5**(num_layers - 1))
    assert lrs['head.fc.weight'] == lrs['backbone.norm4.weight'] == 1e-3
    path = ['backbone.stem.conv.conv.weight', 'backbone.stages.0.0.norm.weight',
            'backbone.stages.0.1.norm.weight', 'backbone.stages.2.0.norm.weight',
            'backbone.stages.4.1.attn.qkv.weight', 'head.fc.weight']
    assert all(lrs[a] < lrs[b] for a, b in zip(path, path[1:]))
    # An IRDS layer learns as the first block of the stage it leads into.
    assert lrs['backbone.downsamples.3.project.weight'] == lrs[
        'backbone.stages.3.0.attn.qkv.weight']


def test_layer_wise_lr_decay_for_a_detector():
    """mmdet's detectors do not pass get_layer_depth() on; mmhirivit's
    constructor asks the backbone, and the neck and heads keep the base
    rate."""
    from helpers import repo_path
    from mmengine.optim import build_optim_wrapper

    from mmhirivit.analysis.builders import build_from_scratch
    model = build_from_scratch(
        repo_path('configs/maskrcnn_hirivit_t_demo_toy.py'))
    wrapper = build_optim_wrapper(model, dict(
        optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
        constructor='mmhirivit.BackboneLayerDecayOptimWrapperConstructor',
        paramwise_cfg=dict(layer_decay_rate=0.5)))
    lrs = {g['param_name']: g['lr'] for g in wrapper.optimizer.param_groups}
    assert lrs['backbone.stem.conv.conv.weight'] < lrs[
        'backbone.stages.3.0.attn.qkv.weight'] < lrs[
            'neck.lateral_convs.0.conv.weight'] == lrs[
                'roi_head.bbox_head.fc_cls.weight'] == 1e-3
