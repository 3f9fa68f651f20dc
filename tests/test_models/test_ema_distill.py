"""EMA distillation (paper §4.5): recorded mixing, the target against a hand
computation, no gradient into the teacher, and the switch-off."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.model import ExponentialMovingAverage
from mmengine.registry import MODELS, init_default_scope
from mmpretrain.models.utils.batch_augments import CutMix, Mixup
from mmpretrain.structures import DataSample

from mmhirivit.models.utils import BatchMix

NUM_CLASSES = 5
SIZE = 128  # HIRI-ViT-T's last map is 2 x 2 at this size (stride 64)


def _classifier(alpha=0.5, augments=None, **kwargs):
    init_default_scope('mmpretrain')
    cfg = dict(
        type='mmhirivit.EMADistillClassifier',
        alpha=alpha,
        backbone=dict(type='mmhirivit.HIRIViT', arch='t', out_indices=4),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=NUM_CLASSES,
                  in_channels=256),
        data_preprocessor=dict(
            num_classes=NUM_CLASSES,
            batch_augments=augments and dict(augments=augments)))
    cfg.update(kwargs)
    torch.manual_seed(0)
    return MODELS.build(cfg)


def _with_teacher(model):
    """Give ``model`` an EMA teacher whose weights differ from its own."""
    ema = ExponentialMovingAverage(model, momentum=1e-4)
    with torch.no_grad():
        for p in ema.parameters():
            p.add_(0.05 * torch.randn_like(p))
    model.set_teacher(ema.module)
    return ema.module


def _batch(labels=(0, 3)):
    torch.manual_seed(1)
    return dict(
        inputs=[torch.randint(0, 256, (3, SIZE, SIZE), dtype=torch.uint8)
                for _ in labels],
        data_samples=[DataSample().set_gt_label(y) for y in labels])


def _hand_probs(teacher, clean):
    """Per-location softmax of the head's linear layer, by hand."""
    feat = teacher.backbone(clean)[-1]  # (N, C, 2, 2)
    w, b = teacher.head.fc.weight, teacher.head.fc.bias
    logits = torch.einsum('nchw,kc->nkhw', feat, w) + b[:, None, None]
    return logits.softmax(dim=1)


@pytest.mark.parametrize('augment', ['cutmix', 'mixup'])
def test_target_equals_hand_computation(augment):
    model = _classifier(alpha=0.3).eval()
    teacher = _with_teacher(model)
    batch = model.data_preprocessor(_batch(), False)
    clean = batch['inputs']
    index = torch.tensor([1, 0])
    if augment == 'cutmix':
        # The pasted patch covers the top-left map cell and half of the
        # top-right one: M at the 2 x 2 map, by hand.
        mix = BatchMix(clean, index, lam=1 - 64 * 96 / SIZE**2,
                       box=(0, 64, 0, 96))
        mask = torch.tensor([[0., .5], [1., 1.]])
    else:
        mix = BatchMix(clean, index, lam=0.7)
        mask = torch.full((2, 2), 0.7)
    with torch.no_grad():
        p = _hand_probs(teacher, clean)
    hand = torch.stack([
        (mask * p[i] + (1 - mask) * p[index[i]]).mean(dim=(1, 2))
        for i in range(2)
    ])
    torch.testing.assert_close(model.distill_targets(mix), hand)

    # The label the student trains on: alpha * y~ + (1 - alpha) * y^.
    onehot = F.one_hot(torch.tensor([0, 3]), NUM_CLASSES).float()
    y_mixed = mix.lam * onehot + (1 - mix.lam) * onehot[index]
    samples = batch['data_samples']
    for sample, score in zip(samples, y_mixed):
        sample.set_gt_score(score)
    model.loss(mix.inputs, samples, mix)
    targets = torch.stack([s.gt_score for s in samples])
    torch.testing.assert_close(targets, 0.3 * y_mixed + 0.7 * hand)
    torch.testing.assert_close(targets.sum(1), torch.ones(2))


@pytest.mark.parametrize('augment_type', [CutMix, Mixup])
def test_preprocessor_mixes_exactly_as_mmpretrain(augment_type):
    """The recorded mixing is mmpretrain's own draw, and its record
    reproduces the mixed batch and labels."""
    cfg = dict(type=augment_type.__name__, alpha=1.0)
    model = _classifier(augments=[cfg])
    data = _batch()
    clean = model.data_preprocessor(data, False)
    onehot = torch.stack([s.gt_score for s in clean['data_samples']])

    np.random.seed(3)
    torch.manual_seed(3)
    # RandomBatchAugment draws its choice first; then the augment itself.
    np.random.choice(1, p=None)
    expected_inputs, expected_scores = augment_type(alpha=1.0).mix(
        clean['inputs'].clone(), onehot)

    np.random.seed(3)
    torch.manual_seed(3)
    mixed = model.data_preprocessor(_batch(), True)
    torch.testing.assert_close(mixed['inputs'], expected_inputs)
    torch.testing.assert_close(
        torch.stack([s.gt_score for s in mixed['data_samples']]),
        expected_scores)
    assert (mixed['mix'].box is None) == (augment_type is Mixup)
    torch.testing.assert_close(mixed['mix'].clean, clean['inputs'])


def test_no_gradient_reaches_the_teacher():
    model = _classifier(augments=[dict(type='CutMix', alpha=1.0)]).train()
    teacher = _with_teacher(model)
    before = [p.clone() for p in teacher.parameters()]
    batch = model.data_preprocessor(_batch(), True)
    losses = model(**batch, mode='loss')
    sum(losses.values()).backward()

    assert all(p.grad is None for p in teacher.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before,
                                                   teacher.parameters()))
    assert all(p.grad is not None for p in model.parameters())
    # The teacher is not part of the student: no parameters, no state.
    assert not any(k.startswith('_teacher') for k in model.state_dict())
    assert len(list(model.parameters())) == len(list(teacher.parameters()))
    assert not teacher.training


def test_alpha_one_is_plain_training():
    """alpha=1 needs no teacher and gives ImageClassifier's loss."""
    model = _classifier(alpha=1.0).train()
    plain = MODELS.build(dict(
        type='ImageClassifier', backbone=model.backbone, neck=model.neck,
        head=model.head, data_preprocessor=dict(num_classes=NUM_CLASSES,
                                                to_onehot=True)))
    batch = model.data_preprocessor(_batch(), True)
    torch.manual_seed(0)
    ours = model(**batch, mode='loss')
    torch.manual_seed(0)
    theirs = plain(batch['inputs'], batch['data_samples'], mode='loss')
    torch.testing.assert_close(ours, theirs)


def test_before_the_start_the_target_is_the_plain_label():
    """Until EMADistillHook starts the EMA (distilling=False), alpha < 1
    trains as alpha=1: the teacher is not asked."""
    model = _classifier(alpha=0.5).train()
    plain = _classifier(alpha=1.0).train()
    model.distilling = False  # and no teacher at all
    batch = model.data_preprocessor(_batch(), True)
    torch.manual_seed(0)
    ours = model(**batch, mode='loss')
    torch.manual_seed(0)
    theirs = plain(**batch, mode='loss')
    torch.testing.assert_close(ours, theirs)


def test_distillation_without_a_teacher_says_what_to_add():
    model = _classifier(alpha=0.5)
    batch = model.data_preprocessor(_batch(), True)
    with pytest.raises(RuntimeError, match='EMADistillHook'):
        model(**batch, mode='loss')


@pytest.mark.parametrize('kwargs, error, words', [
    (dict(alpha=1.5), ValueError, 'alpha must be a number in [0, 1], got 1.5'),
    (dict(neck=dict(type='GeneralizedMeanPooling')), TypeError,
     'GlobalAveragePooling'),
    (dict(head=dict(type='VisionTransformerClsHead', num_classes=5,
                    in_channels=256)), TypeError, 'linear ``fc``'),
    (dict(augments=[dict(type='ResizeMix', alpha=1.0)]), TypeError,
     'ResizeMix'),
])
def test_bad_settings(kwargs, error, words):
    with pytest.raises(error) as info:
        _classifier(**kwargs)
    assert words in str(info.value)
