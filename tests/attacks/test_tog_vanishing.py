"""Tests of TOGVanishing: the empty-ground-truth loss of mmdet detectors, budgets, masks,
config errors, reproducibility, and that a trained detector's detections vanish."""
import math

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData

from colour_scenes import (assert_config_error, assert_image_output,
                           assert_padding_kept, assert_seed_reproduces,
                           build_from_registry_and_file, cls_batch, det_batch,
                           rpn_det_setup)
from mmgat.attacks import PGD, TOGVanishing
from mmgat.attacks.tog_vanishing import without_objects
from mmgat.utils.errors import ConfigError
from mmgat.victims import build_victim
from tiny_models import MEAN, STD, StubVictim, cls_model, det_model, fit_to_batch

pytestmark = pytest.mark.usefixtures('one_thread')

#: Score above which a prediction counts as a detection.
SCORE = 0.3


def retina_model():
    """A tiny RetinaNet (focal loss, no sampling: the other kind of mmdet head)."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    cfg = dict(
        type='RetinaNet',
        data_preprocessor=dict(type='DetDataPreprocessor', mean=MEAN, std=STD,
                               bgr_to_rgb=True, pad_size_divisor=32),
        backbone=dict(type='ResNet', depth=18, base_channels=8, num_stages=4,
                      out_indices=(1, 2, 3), style='pytorch'),
        neck=dict(type='FPN', in_channels=[16, 32, 64], out_channels=16,
                  add_extra_convs='on_input', num_outs=3),
        bbox_head=dict(
            type='RetinaHead', num_classes=10, in_channels=16, stacked_convs=1,
            feat_channels=16,
            anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4,
                                  scales_per_octave=1, ratios=[1.0], strides=[8, 16, 32]),
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4,
                            target_stds=[1.0] * 4),
            loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                          loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
        train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5,
                                     neg_iou_thr=0.4, min_pos_iou=0, ignore_iof_thr=-1),
                       sampler=dict(type='PseudoSampler'), allowed_border=-1,
                       pos_weight=-1, debug=False),
        test_cfg=dict(nms_pre=100, min_bbox_size=0, score_thr=0.05,
                      nms=dict(type='nms', iou_threshold=0.5), max_per_img=20))
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(ConfigDict(cfg))
    model.init_weights()
    return model


@pytest.fixture(scope='module')
def det_setup():
    return rpn_det_setup()


@pytest.fixture(scope='module')
def trained():
    """``(victim, pixels, samples)``: the tiny Faster R-CNN fitted to 8 scenes of
    64 x 64 (100 Adam steps, ~8 s): a few confident detections per image."""
    def batch():
        return det_batch(sizes=((64, 64), ) * 8, seed=0)

    model = fit_to_batch(det_model(), batch(), iters=100, lr=1e-3)
    victim = build_victim(model)
    pixels, samples, _ = victim.to_pixels(batch())
    return victim, pixels, samples


def detections(victim, pixels, samples):
    """Number of predictions scoring above :data:`SCORE` in each image."""
    return [int((p.pred_instances.scores > SCORE).sum())
            for p in victim.predict(pixels, samples)]


def empty_loss(victim, pixels, samples):
    with victim.attack_mode(), torch.no_grad():
        torch.manual_seed(0)
        return float(victim.loss(pixels, without_objects(samples, pixels.device)))


# ---------------------------------------------------------------- the empty ground truth
@pytest.mark.parametrize('make_model', [det_model, retina_model])
def test_empty_ground_truth_loss_is_finite_with_gradients(make_model):
    victim = build_victim(make_model())
    pixels, samples, _ = victim.to_pixels(det_batch())
    empty = without_objects(samples, pixels.device)
    x = pixels.clone().requires_grad_(True)
    with victim.attack_mode():
        torch.manual_seed(0)
        losses = victim.model.loss(victim.normalize(x), empty)
        loss = victim._reduce_losses(losses)
        grad, = torch.autograd.grad(loss, x)
    assert math.isfinite(float(loss)) and float(loss) > 0
    assert bool(torch.isfinite(grad).all()) and float(grad.abs().sum()) > 0
    # No object: the box regression losses have nothing to regress.
    for key, value in losses.items():
        if 'bbox' in key:
            parts = value if isinstance(value, (list, tuple)) else [value]
            assert all(float(part) == 0 for part in parts), key


def test_without_objects_copies_structure_not_objects():
    from mmdet.structures import DetDataSample
    from mmdet.structures.bbox import HorizontalBoxes
    sample = DetDataSample(metainfo=dict(img_shape=(8, 8)))
    sample.gt_instances = InstanceData(
        bboxes=HorizontalBoxes(torch.tensor([[1., 2., 3., 4.]])),
        labels=torch.tensor([3]))
    sample.gt_ignore_instances = InstanceData(bboxes=torch.tensor([[0., 0., 2., 2.]]))
    sample.proposals = InstanceData(bboxes=torch.zeros(2, 4))
    bare = DetDataSample(metainfo=dict(img_shape=(8, 8)))
    empty, empty_bare = without_objects([sample, bare], torch.device('cpu'))
    assert len(sample.gt_instances) == 1  # the input is untouched
    assert len(empty.gt_instances) == 0 and len(empty.gt_ignore_instances) == 0
    assert isinstance(empty.gt_instances.bboxes, HorizontalBoxes)
    assert empty.gt_instances.labels.dtype == torch.long
    assert empty.proposals is sample.proposals and empty.img_shape == (8, 8)
    assert empty_bare.gt_instances.bboxes.shape == (0, 4)
    assert empty_bare.gt_instances.labels.dtype == torch.long


# ---------------------------------------------------------------- budgets
@pytest.mark.parametrize('norm, eps', [('linf', 8 / 255), ('l2', 0.5)])
def test_budget_range_padding_and_descent(det_setup, norm, eps):
    victim, pixels, samples = det_setup
    adv = TOGVanishing(eps=eps, norm=norm, steps=4)(victim, pixels, samples)
    assert_image_output(adv, pixels)
    assert_padding_kept(adv, pixels)
    delta = adv - pixels
    if norm == 'linf':
        assert float(delta.abs().max()) <= eps * 255 + 1e-4
    else:
        assert bool((delta.flatten(1).norm(dim=1) <= eps * 255 + 1e-3).all())
    # The loss against "no objects" goes down.
    assert empty_loss(victim, adv, samples) < empty_loss(victim, pixels, samples)


def test_background_mask_keeps_boxes_bit_identical(det_setup):
    victim, pixels, samples = det_setup
    adv = TOGVanishing(steps=2, mask='background')(victim, pixels, samples)
    background = victim.background_mask(samples, pixels.shape).bool().expand_as(pixels)
    assert bool((~background).any())
    assert torch.equal(adv[~background], pixels[~background])
    assert float((adv != pixels)[background].float().mean()) > 0.3


def test_same_seed_and_iteration_reproduce(det_setup):
    assert_seed_reproduces(TOGVanishing, det_setup, dict(seed=4))
    assert_seed_reproduces(TOGVanishing, det_setup, dict(iteration=6))


class NaNDetector(StubVictim):
    """A stand-in detector: image 0's loss (and gradient) is NaN."""

    task = 'detection'

    def loss(self, pixels, data_samples):
        weights = torch.ones(len(pixels), 1, 1, 1)
        weights[0] = math.nan
        return (pixels * weights).sum()


def test_nan_gradient_step_skipped_with_warning():
    from mmdet.structures import DetDataSample
    samples = [DetDataSample(metainfo=dict(img_shape=(4, 4))) for _ in range(2)]
    pixels = torch.full((2, 3, 4, 4), 100.0)
    with pytest.warns(RuntimeWarning, match='non-finite gradient'):
        adv = TOGVanishing(steps=2, random_start=False)(NaNDetector(), pixels, samples)
    assert torch.equal(adv[0], pixels[0])
    assert torch.equal(adv[1], pixels[1] - 4)  # two descending steps of 2


# ---------------------------------------------------------------- config
@pytest.mark.parametrize('kwargs, match', [
    (dict(eps=-0.1), 'eps.*-0.1'),
    (dict(alpha=0), 'alpha.*0'),
    (dict(steps=0), 'steps.*0'),
    (dict(norm='l3'), "norm 'l3'"),
    (dict(mask='foreground'), "mask mode 'foreground'"),
])
def test_invalid_config(kwargs, match):
    assert_config_error(TOGVanishing, kwargs, match)


def test_other_tasks_are_a_config_error():
    victim = build_victim(cls_model())
    pixels, samples, _ = victim.to_pixels(cls_batch(num=2))
    with pytest.raises(ConfigError, match='TOGVanishing is a detection attack; '
                                          'ClassifierVictim is a classification victim'):
        TOGVanishing(steps=1)(victim, pixels, samples)


def test_build_from_registry_and_file():
    attack = build_from_registry_and_file(
        TOGVanishing, 'configs/_base_/attacks/tog-vanishing_linf_eps8.py', steps=3)
    assert attack.steps == 3 and attack.eps == pytest.approx(8 / 255)
    assert TOGVanishing.attack_families() == ('pgd', )


# ---------------------------------------------------------------- strength
def test_detections_vanish_on_a_trained_detector(trained):
    victim, pixels, samples = trained
    clean = detections(victim, pixels, samples)
    pgd = PGD(eps=8 / 255, steps=10)(victim, pixels, samples)
    tog = TOGVanishing(eps=8 / 255, steps=10)(victim, pixels, samples)
    pgd, tog = detections(victim, pgd, samples), detections(victim, tog, samples)
    # Measured (detections scoring > 0.3 over the 8 images): clean 35, PGD 87 (raising
    # the loss mislabels and adds boxes), TOG-vanishing 0.
    assert sum(clean) >= 16 and min(clean) >= 1, clean
    assert sum(tog) <= 0.1 * sum(clean), (clean, tog)
    assert sum(tog) < sum(pgd), (pgd, tog)
