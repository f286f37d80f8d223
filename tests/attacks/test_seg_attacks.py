"""Tests of the segmentation attacks SegPGD and CosPGD, the segmentor victim's per-pixel
logits and labels they use, and their strength against PGD on a trained segmentor."""
import math

import pytest
import torch
from mmengine.structures import PixelData

from colour_scenes import (assert_config_error, assert_image_output,
                           assert_seed_reproduces, build_from_registry_and_file)
from mmgat.attacks import APGD, PGD, CosPGD, SegPGD, pixel_cross_entropy
from mmgat.attacks.cos_pgd import cosine_to_target
from mmgat.attacks.pixel_losses import per_image_mean
from mmgat.attacks.seg_pgd import segpgd_weight
from mmgat.utils.errors import ConfigError
from mmgat.victims import SegmentorVictim, build_victim
from test_pgd import seg_batch, seg_model
from tiny_models import cls_model, fit_to_batch

pytestmark = pytest.mark.usefixtures('one_thread')

SEG_ATTACKS = [SegPGD, CosPGD]
#: Flat colours of the four object classes 1..4 of :func:`seg_scenes`.
COLOURS = torch.tensor([[200, 40, 40], [40, 200, 40], [40, 40, 200], [220, 220, 40]],
                       dtype=torch.uint8)


def seg_scenes(num=8, size=48, seed=0):
    """Grey noise (class 0) with three flat rectangles whose colour is their class."""
    from mmseg.structures import SegDataSample
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(num):
        img = (torch.rand(3, size, size, generator=gen) * 100 + 60).to(torch.uint8)
        label = torch.zeros(1, size, size, dtype=torch.long)
        for _ in range(3):
            cls = int(torch.randint(0, 4, (1, ), generator=gen))
            h, w = (int(v) for v in torch.randint(10, 20, (2, ), generator=gen))
            y, x = (int(v) for v in torch.randint(0, size - 20, (2, ), generator=gen))
            img[:, y:y + h, x:x + w] = COLOURS[cls].view(3, 1, 1)
            label[:, y:y + h, x:x + w] = cls + 1
        sample = SegDataSample(metainfo=dict(img_shape=(size, size),
                                             ori_shape=(size, size)))
        sample.gt_sem_seg = PixelData(data=label)
        inputs.append(img)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


@pytest.fixture(scope='module')
def trained():
    """``(victim, pixels, samples)``: the tiny segmentor fitted to 8 scenes (200 Adam
    steps, a few seconds; clean mIoU ~0.86 on them)."""
    model = fit_to_batch(seg_model(), seg_scenes(), iters=200)
    victim = build_victim(model)
    pixels, samples, _ = victim.to_pixels(seg_scenes())
    return victim, pixels, samples


@pytest.fixture(scope='module')
def padded():
    """The untrained segmentor on two images (48 x 40, 40 x 48) padded to 48 x 48,
    class 0 in their top halves."""
    victim = build_victim(seg_model())
    pixels, samples, _ = victim.to_pixels(seg_batch())
    return victim, pixels, samples


def scores(victim, pixels, samples):
    """``(pixel accuracy, mIoU)`` over the labelled pixels (classes present in the
    ground truth or the prediction)."""
    labels = victim.pixel_labels(samples, pixels.shape)
    with torch.no_grad(), victim.attack_mode():
        pred = victim.pixel_logits(pixels, samples).argmax(dim=1)
    valid = labels != victim.ignore_index
    ious = []
    for cls in range(int(labels[valid].max()) + 1):
        union = (((pred == cls) | (labels == cls)) & valid).sum()
        if union:
            ious.append(float((((pred == cls) & (labels == cls)) & valid).sum() / union))
    return float((pred == labels)[valid].float().mean()), sum(ious) / len(ious)


def assert_padding_kept(adv, pixels):
    """seg_batch: image 0 is 48 x 40, image 1 40 x 48 inside the 48 x 48 batch."""
    assert torch.equal(adv[0, :, :, 40:], pixels[0, :, :, 40:])
    assert torch.equal(adv[1, :, 40:], pixels[1, :, 40:])


# ---------------------------------------------------------------- the victim side
def test_pixel_logits_are_what_the_training_loss_sees(padded):
    victim, pixels, samples = padded
    assert victim.supports_pixel_logits and not SegmentorVictim.supports_per_sample_loss
    x = pixels.clone().requires_grad_(True)
    with victim.attack_mode():
        logits = victim.pixel_logits(x, samples)
        losses = victim.model.loss(victim.normalize(x), samples)
    assert logits.shape == (2, 11, 48, 48)
    labels = victim.pixel_labels(samples, pixels.shape)
    ce, valid = pixel_cross_entropy(logits, labels, victim.ignore_index)
    # mmseg's CE (avg_non_ignore=False) is the mean over all pixels, ignored ones as 0.
    assert float(ce.mean()) == pytest.approx(float(losses['decode.loss_ce']), rel=1e-5)
    grad, = torch.autograd.grad(ce.sum(), x)
    assert float(grad.abs().sum()) > 0


def test_pixel_labels_in_the_padded_frame(padded):
    victim, pixels, samples = padded
    labels = victim.pixel_labels(samples, pixels.shape)
    assert labels.shape == (2, 48, 48) and labels.dtype == torch.long
    assert bool((labels[0, :, 40:] == 255).all()) and bool((labels[1, 40:] == 255).all())
    gt = samples[0].gt_sem_seg.data[0]
    assert torch.equal(labels[0, :, :40], gt[:, :40])
    bare = [type(s)(metainfo=s.metainfo) for s in samples]
    with pytest.raises(ConfigError, match='segmentation sample 0 has no gt_sem_seg'):
        victim.pixel_labels(bare, pixels.shape)


def test_pixel_cross_entropy_ignores_ignored_pixels():
    logits = torch.randn(1, 3, 2, 2)
    labels = torch.tensor([[[0, 2], [255, 1]]])
    ce, valid = pixel_cross_entropy(logits, labels, 255)
    assert valid.tolist() == [[[True, True], [False, True]]]
    assert float(ce[0, 1, 0]) == 0
    expected = torch.nn.functional.cross_entropy(logits, labels, ignore_index=255,
                                                 reduction='none')
    assert torch.allclose(ce, expected)
    assert float(per_image_mean(ce, valid)[0]) == pytest.approx(float(ce.sum() / 3))
    with pytest.raises(ConfigError, match='label 7 is outside the 3 classes'):
        pixel_cross_entropy(logits, torch.tensor([[[0, 7], [255, 1]]]), 255)


def test_segpgd_weight_schedule():
    assert [segpgd_weight(t, 4) for t in (1, 2, 3, 4)] == [0, 1 / 8, 2 / 8, 3 / 8]


def test_cosine_to_target():
    logits = torch.tensor([[[[0.0]], [[math.log(3)]]]])  # probabilities 1/4, 3/4
    labels = torch.tensor([[[1]]])
    cos = cosine_to_target(logits, labels, labels != 255)
    assert float(cos) == pytest.approx(0.75 / math.sqrt(0.25 ** 2 + 0.75 ** 2))
    assert float(cosine_to_target(logits, labels, labels == 255)) == 0


# ---------------------------------------------------------------- the losses
def one_signed_step(victim, pixels, samples, objective, alpha):
    """``pixels + alpha * 255 * sign(grad objective)``, clipped (no random start)."""
    x = pixels.clone().requires_grad_(True)
    with victim.attack_mode():
        logits = victim.pixel_logits(x, samples)
        labels = victim.pixel_labels(samples, pixels.shape)
        ce, valid = pixel_cross_entropy(logits, labels, victim.ignore_index)
        grad, = torch.autograd.grad(objective(logits.detach(), labels, ce, valid), x)
    region = victim.valid_mask(samples, pixels.shape)
    return (pixels + alpha * 255 * grad.sign() * region).clamp(0, 255)


def test_segpgd_first_step_pushes_only_correct_pixels(trained):
    victim, pixels, samples = trained

    def correct_only(logits, labels, ce, valid):
        correct = (logits.argmax(dim=1) == labels) & valid
        return per_image_mean(ce * correct, valid).sum()

    adv = SegPGD(eps=4 / 255, alpha=1 / 255, steps=1, random_start=False)(
        victim, pixels, samples)
    assert torch.allclose(adv, one_signed_step(victim, pixels, samples, correct_only,
                                               1 / 255), atol=1e-4)


def test_cospgd_step_is_the_cosine_weighted_loss(trained):
    victim, pixels, samples = trained

    def weighted(logits, labels, ce, valid):
        return per_image_mean(ce * cosine_to_target(logits, labels, valid), valid).sum()

    adv = CosPGD(eps=4 / 255, alpha=1 / 255, steps=1, random_start=False)(
        victim, pixels, samples)
    assert torch.allclose(adv, one_signed_step(victim, pixels, samples, weighted,
                                               1 / 255), atol=1e-4)


# ---------------------------------------------------------------- budgets
@pytest.mark.parametrize('attack_type', SEG_ATTACKS + [APGD])
@pytest.mark.parametrize('norm, eps', [('linf', 8 / 255), ('l2', 0.5)])
def test_budget_range_and_padding(padded, attack_type, norm, eps):
    victim, pixels, samples = padded
    adv = attack_type(eps=eps, norm=norm, steps=3)(victim, pixels, samples)
    assert_image_output(adv, pixels)
    assert_padding_kept(adv, pixels)
    delta = adv - pixels
    if norm == 'linf':
        assert float(delta.abs().max()) <= eps * 255 + 1e-4
        assert float(delta.abs().max()) > eps * 255 / 2
    else:
        norms = delta.flatten(1).norm(dim=1)
        assert bool((norms <= eps * 255 + 1e-3).all()) and bool((norms > 0).all())


@pytest.mark.parametrize('attack_type', SEG_ATTACKS + [APGD])
def test_background_mask_keeps_foreground_bit_identical(padded, attack_type):
    victim, pixels, samples = padded
    adv = attack_type(eps=8 / 255, steps=2, mask='background')(victim, pixels, samples)
    background = victim.background_mask(samples, pixels.shape).bool().expand_as(pixels)
    assert bool((~background).any())
    assert torch.equal(adv[~background], pixels[~background])
    assert float((adv != pixels)[background].float().mean()) > 0.3


@pytest.mark.parametrize('attack_type', SEG_ATTACKS)
def test_same_seed_and_iteration_reproduce(padded, attack_type):
    victim, pixels, samples = padded
    assert_seed_reproduces(attack_type, (victim, pixels, samples), dict(seed=4))
    assert_seed_reproduces(attack_type, (victim, pixels, samples), dict(iteration=6))


class NaNSegmentor(SegmentorVictim):
    """The scores of image 0 are NaN (and so its gradient)."""

    def pixel_logits(self, pixels, data_samples):
        logits = super().pixel_logits(pixels, data_samples)
        weights = torch.ones(len(logits), 1, 1, 1)
        weights[0] = math.nan
        return logits * weights


@pytest.mark.parametrize('attack_type', SEG_ATTACKS + [APGD])
def test_nan_gradient_step_skipped_with_warning(padded, attack_type):
    victim, pixels, samples = padded
    attack = attack_type(eps=8 / 255, steps=2, random_start=False)
    with pytest.warns(RuntimeWarning, match='non-finite gradient'):
        adv = attack(NaNSegmentor(victim.model), pixels, samples)
    assert bool(torch.isfinite(adv).all())
    assert torch.equal(adv[0], pixels[0])
    assert not torch.equal(adv[1], pixels[1])


# ---------------------------------------------------------------- config
@pytest.mark.parametrize('attack_type', SEG_ATTACKS)
@pytest.mark.parametrize('kwargs, match', [
    (dict(eps=-0.1), 'eps.*-0.1'),
    (dict(alpha=0), 'alpha.*0'),
    (dict(steps=0), 'steps.*0'),
    (dict(norm='l3'), "norm 'l3'"),
    (dict(mask='foreground'), "mask mode 'foreground'"),
])
def test_invalid_config(attack_type, kwargs, match):
    assert_config_error(attack_type, kwargs, match)


@pytest.mark.parametrize('attack_type', SEG_ATTACKS)
def test_other_tasks_are_a_config_error(attack_type):
    from colour_scenes import cls_batch
    victim = build_victim(cls_model())
    pixels, samples, _ = victim.to_pixels(cls_batch(num=2))
    with pytest.raises(ConfigError, match=f'{attack_type.__name__} is a segmentation '
                                          r'attack: .* ClassifierVictim '
                                          r'\(classification\) cannot give'):
        attack_type(steps=1)(victim, pixels, samples)


@pytest.mark.parametrize('attack_type, name', [(SegPGD, 'segpgd'), (CosPGD, 'cospgd')])
def test_build_from_registry_and_file(attack_type, name):
    attack = build_from_registry_and_file(
        attack_type, f'configs/_base_/attacks/{name}-linf_eps8.py', steps=7)
    assert attack.steps == 7 and attack.alpha == pytest.approx(2 / 255)
    assert attack_type.attack_families() == ('pgd', )


# ---------------------------------------------------------------- strength
def test_stronger_than_pgd_on_a_trained_segmentor(trained):
    victim, pixels, samples = trained
    eps = 4 / 255
    results = dict(clean=scores(victim, pixels, samples))
    for attack_type in (PGD, SegPGD, CosPGD):
        adv = attack_type(eps=eps, alpha=eps / 4, steps=10)(victim, pixels, samples)
        results[attack_type.__name__] = scores(victim, adv, samples)
    adv = APGD(eps=eps, steps=10)(victim, pixels, samples)
    results['APGD'] = scores(victim, adv, samples)
    # Measured (pixel accuracy, mIoU): clean (0.972, 0.857), PGD (0.819, 0.352),
    # SegPGD (0.784, 0.300), CosPGD (0.748, 0.264), APGD (0.781, 0.286).
    clean_acc, clean_miou = results['clean']
    assert clean_acc > 0.9 and clean_miou > 0.8, results
    pgd_acc, pgd_miou = results['PGD']
    for name in ('SegPGD', 'CosPGD'):
        acc, miou = results[name]
        assert acc <= pgd_acc and miou <= pgd_miou, results
        assert miou < clean_miou - 0.4, results
    assert results['APGD'][1] < clean_miou - 0.4, results
