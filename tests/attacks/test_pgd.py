"""Tests of PGD / FGSM: budgets, masks, NaN handling, config errors, reproducibility."""
import math

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData, PixelData

from mmgat.attacks import FGSM, PGD, build_attack
from mmgat.registry import ATTACKS
from mmgat.structures import ClsDataSample
from mmgat.utils.errors import ConfigError
from mmgat.victims import ClassifierVictim, build_victim
from tiny_models import StubVictim, cls_model, det_model

pytestmark = pytest.mark.usefixtures('one_thread')

MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]


# ---------------------------------------------------------------- tiny models
def seg_model():
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    cfg = dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=MEAN, std=STD,
                               bgr_to_rgb=True, size=(48, 48)),
        backbone=dict(type='ResNetV1c', depth=18, stem_channels=8, base_channels=8,
                      out_indices=(0, 1, 2, 3), dilations=(1, 1, 2, 4),
                      strides=(1, 2, 1, 1), norm_eval=False, contract_dilation=True),
        decode_head=dict(type='DepthwiseSeparableASPPHead', in_channels=64, in_index=3,
                         channels=16, dilations=(1, 2, 3, 4), c1_in_channels=8,
                         c1_channels=8, num_classes=11, align_corners=False,
                         loss_decode=dict(type='CrossEntropyLoss')),
        train_cfg=dict(), test_cfg=dict(mode='whole'))
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(ConfigDict(cfg))
    model.init_weights()
    return model


def _images(sizes, seed=0):
    gen = torch.Generator().manual_seed(seed)
    images = [torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=gen)
              for h, w in sizes]
    images[0][:, :4] = 255  # saturated rows: the clip to [0, 255] must hold
    images[0][:, 4:8] = 0
    return images


def det_batch():
    from mmdet.structures import DetDataSample
    sizes, boxes = ((48, 64), (64, 40)), ([[4., 6., 30., 40.], [40, 2, 60, 20]], [])
    samples = []
    for (h, w), img_boxes in zip(sizes, boxes):
        sample = DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w),
                                             scale_factor=(1.0, 1.0)))
        bboxes = torch.tensor(img_boxes, dtype=torch.float32).reshape(-1, 4)
        sample.gt_instances = InstanceData(bboxes=bboxes,
                                           labels=torch.ones(len(bboxes)).long())
        samples.append(sample)
    return dict(inputs=_images(sizes), data_samples=samples)


def seg_batch():
    from mmseg.structures import SegDataSample
    gen = torch.Generator().manual_seed(1)
    samples = []
    for h, w in ((48, 40), (40, 48)):
        label = torch.randint(1, 11, (1, h, w), generator=gen)
        label[:, :h // 2] = 0
        sample = SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w)))
        sample.gt_sem_seg = PixelData(data=label)
        samples.append(sample)
    return dict(inputs=_images(((48, 40), (40, 48))), data_samples=samples)


def cls_batch(num=4):
    samples = []
    for i in range(num):
        sample = ClsDataSample(metainfo=dict(img_shape=(32, 32)))
        sample.gt_label = i % 10
        mask = torch.zeros(32, 32, dtype=torch.bool)
        mask[8:24, 6 + i:20 + i] = True
        sample.gt_fg_mask = mask
        samples.append(sample)
    return dict(inputs=_images([(32, 32)] * num), data_samples=samples)


@pytest.fixture(scope='module')
def setups():
    """(victim, pixels, samples) per task, built once."""
    out = {}
    for task, model, batch in (('det', det_model, det_batch), ('seg', seg_model, seg_batch),
                               ('cls', cls_model, cls_batch)):
        victim = build_victim(model())
        out[task] = victim.to_pixels(batch())[:2] + (victim, )
    return out


def _loss(victim, pixels, samples):
    with victim.attack_mode(), torch.no_grad():
        torch.manual_seed(0)  # mmdet's samplers draw from the global RNG
        return float(victim.loss(pixels, samples))


# ---------------------------------------------------------------- config errors
@pytest.mark.parametrize('kwargs, match', [
    (dict(eps=-0.1), 'eps.*-0.1'),
    (dict(steps=0), 'steps.*0'),
    (dict(steps=2.5), 'steps.*2.5'),
    (dict(alpha=0), 'alpha.*0'),
    (dict(alpha=-1 / 255), 'alpha'),
    (dict(norm='l3'), "norm 'l3'"),
    (dict(mask='foreground'), "mask mode 'foreground'"),
])
def test_invalid_config(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        PGD(**kwargs)
    with pytest.raises(ConfigError, match=match.split('.')[0]):
        build_attack(dict(type='mmgat.PGD', **kwargs))


def test_build_from_registry():
    attack = ATTACKS.build(dict(type='mmgat.PGD', eps=4 / 255, steps=3, norm='l2'))
    assert isinstance(attack, PGD) and attack.steps == 3 and attack.norm == 'l2'
    fgsm = build_attack(dict(type='FGSM', eps=4 / 255))
    assert fgsm.steps == 1 and fgsm.alpha == fgsm.eps and not fgsm.random_start
    with pytest.raises(ConfigError, match="unknown attack type 'Nope'"):
        build_attack(dict(type='Nope'))
    with pytest.raises(ConfigError, match='invalid arguments'):
        build_attack(dict(type='PGD', epsilon=1))


# ---------------------------------------------------------------- budgets
@pytest.mark.parametrize('task', ['cls', 'det', 'seg'])
@pytest.mark.parametrize('norm, eps, alpha', [('linf', 8 / 255, 2 / 255),
                                              ('l2', 0.5, 0.2)])
def test_budget_range_and_loss_increase(setups, task, norm, eps, alpha):
    pixels, samples, victim = setups[task]
    attack = PGD(eps=eps, alpha=alpha, steps=4, norm=norm)
    adv = attack(victim, pixels, samples)
    assert adv.shape == pixels.shape and not adv.requires_grad
    assert float(adv.min()) >= 0 and float(adv.max()) <= 255
    delta = adv - pixels
    if norm == 'linf':
        assert float(delta.abs().max()) <= eps * 255 + 1e-4
        assert float(delta.abs().max()) > eps * 255 / 2  # the budget is used
    else:
        norms = delta.flatten(1).norm(dim=1)
        assert bool((norms <= eps * 255 + 1e-3).all()), norms
        assert bool((norms > 0).all())
    assert _loss(victim, adv, samples) > _loss(victim, pixels, samples)


def test_padding_is_never_perturbed(setups):
    pixels, samples, victim = setups['det']
    adv = PGD(steps=2)(victim, pixels, samples)
    # Image 0 is 48 x 64 and image 1 64 x 40 inside the 64 x 64 batch.
    assert torch.equal(adv[0, :, 48:], pixels[0, :, 48:])
    assert torch.equal(adv[1, :, :, 40:], pixels[1, :, :, 40:])


def test_l2_random_start_inside_ball(setups):
    pixels, samples, victim = setups['cls']
    start = PGD(eps=0.5, alpha=0.1, norm='l2', steps=1)
    delta = start.random_delta(pixels.shape, torch.Generator().manual_seed(0), pixels)
    assert bool((delta.flatten(1).norm(dim=1) <= 0.5 * 255 + 1e-3).all())


def test_fgsm_is_one_signed_step(setups):
    pixels, samples, victim = setups['cls']
    adv = FGSM(eps=4 / 255)(victim, pixels, samples)
    x = pixels.clone().requires_grad_(True)
    with victim.attack_mode():
        grad, = torch.autograd.grad(victim.loss(x, samples), x)
    expected = (pixels + 4 * grad.sign()).clamp(0, 255)
    assert torch.allclose(adv, expected, atol=1e-4)


# ---------------------------------------------------------------- masks
@pytest.mark.parametrize('task', ['det', 'seg', 'cls'])
def test_background_mask_keeps_foreground_bit_identical(setups, task):
    pixels, samples, victim = setups[task]
    adv = PGD(eps=8 / 255, steps=2, mask='background')(victim, pixels, samples)
    background = victim.background_mask(samples, pixels.shape).bool().expand_as(pixels)
    assert bool((~background).any())
    assert torch.equal(adv[~background], pixels[~background])
    # The background does change.
    assert float((adv != pixels)[background].float().mean()) > 0.5
    if task == 'det':
        # Inside the boxes of image 0 nothing changed; image 1 has no box at all.
        assert torch.equal(adv[0, :, 6:40, 4:30], pixels[0, :, 6:40, 4:30])
        assert float((adv[1, :, :, :40] != pixels[1, :, :, :40]).float().mean()) > 0.9
    if task == 'cls':
        for i, sample in enumerate(samples):
            fg = sample.gt_fg_mask.expand(3, -1, -1)
            assert torch.equal(adv[i][fg], pixels[i][fg])


def test_background_mask_without_fg_mask_is_config_error(setups):
    pixels, samples, victim = setups['cls']
    bare = [ClsDataSample(metainfo=s.metainfo) for s in samples]
    for new, old in zip(bare, samples):
        new.gt_label = old.gt_label
    with pytest.raises(ConfigError, match='cannot provide a background mask'):
        PGD(steps=1, mask='background')(victim, pixels, bare)


# ---------------------------------------------------------------- NaN
class NaNVictim(ClassifierVictim):
    """The loss of image 0 is NaN (its gradient too); the others are fine."""

    def loss(self, pixels, data_samples):
        losses = self.per_sample_loss(pixels, data_samples)
        weights = torch.ones_like(losses)
        weights[0] = math.nan
        return (losses * weights).sum()


def test_nan_gradient_step_skipped_with_warning(setups):
    pixels, samples, victim = setups['cls']
    nan_victim = NaNVictim(victim.model)
    attack = PGD(eps=8 / 255, steps=3, random_start=False)
    with pytest.warns(RuntimeWarning, match='non-finite gradient'):
        adv = attack(nan_victim, pixels, samples)
    assert bool(torch.isfinite(adv).all())
    assert torch.equal(adv[0], pixels[0])  # every step skipped for image 0
    assert not torch.equal(adv[1], pixels[1])
    # With a random start, the skipped image keeps its (finite) start.
    with pytest.warns(RuntimeWarning):
        adv = PGD(eps=8 / 255, steps=2)(nan_victim, pixels, samples)
    assert bool(torch.isfinite(adv).all())
    assert float((adv[0] - pixels[0]).abs().max()) <= 8 + 1e-4


# ---------------------------------------------------------------- reproducibility
@pytest.mark.parametrize('task', ['cls', 'det'])
def test_same_seed_and_iteration_reproduce(setups, task):
    pixels, samples, victim = setups[task]
    attack = PGD(eps=8 / 255, steps=2, seed=3)
    first = attack(victim, pixels, samples, iteration=7)
    again = PGD(eps=8 / 255, steps=2, seed=3)(victim, pixels, samples, iteration=7)
    assert torch.equal(first, again)
    other_iter = attack(victim, pixels, samples, iteration=8)
    other_seed = PGD(eps=8 / 255, steps=2, seed=4)(victim, pixels, samples, iteration=7)
    assert not torch.equal(first, other_iter)
    assert not torch.equal(first, other_seed)


def test_random_start_depends_on_iteration_and_global_rng_untouched(setups):
    pixels, samples, victim = setups['cls']
    attack = PGD(eps=8 / 255, steps=1, alpha=1e-6)  # ~ the random start itself
    torch.manual_seed(123)
    expected_next = torch.rand(5)
    torch.manual_seed(123)
    a = attack(victim, pixels, samples, iteration=0)
    assert torch.equal(torch.rand(5), expected_next)  # training RNG stream unchanged
    b = attack(victim, pixels, samples, iteration=1)
    assert float((a - b).abs().max()) > 1
    # An explicit generator takes the place of the seeded one.
    c = attack(victim, pixels, samples, generator=torch.Generator().manual_seed(0))
    d = attack(victim, pixels, samples, generator=torch.Generator().manual_seed(0))
    assert torch.equal(c, d)


# ---------------------------------------------------------------- clipping
class FlipVictim(StubVictim):
    """A stand-in victim whose loss pushes pixels up at step 1, down afterwards."""

    def __init__(self):
        self.calls = 0

    def loss(self, pixels, data_samples):
        self.calls += 1
        return (1.0 if self.calls == 1 else -1.0) * pixels.sum()


def test_saturated_pixels_can_move_back():
    # 254 + 4 clips at 255: the perturbation is clipped too (to +1), so the next
    # step (-4) brings the pixel to 251 instead of leaving it stuck at 255.
    pixels = torch.full((1, 3, 4, 4), 254.0)
    attack = PGD(eps=8 / 255, alpha=4 / 255, steps=2, random_start=False)
    adv = attack(FlipVictim(), pixels, [None])
    assert torch.equal(adv, torch.full_like(pixels, 251.0))
