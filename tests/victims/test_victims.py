"""Tests of the victim adapters: pixel round trip, loss, masks and attack mode."""
import copy

import pytest
import torch
import torch.nn as nn
from mmengine.config import ConfigDict
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData, PixelData

from mmgat.attacks import PGD
from mmgat.structures import ClsDataSample
from mmgat.utils.errors import ConfigError
from mmgat.victims import (ClassifierVictim, DetectorVictim, SegmentorVictim,
                           build_victim)
from tiny_models import cls_model, det_model

pytestmark = pytest.mark.usefixtures('one_thread')

MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]


# ---------------------------------------------------------------- tiny models
def seg_model(size=(48, 48)):
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    norm = dict(type='BN', requires_grad=True)
    cfg = dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=MEAN, std=STD,
                               bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size=size),
        backbone=dict(type='ResNetV1c', depth=18, stem_channels=8, base_channels=8,
                      num_stages=4, out_indices=(0, 1, 2, 3), dilations=(1, 1, 2, 4),
                      strides=(1, 2, 1, 1), norm_cfg=norm, norm_eval=False,
                      contract_dilation=True),
        decode_head=dict(type='FCNHead', in_channels=64, in_index=3, channels=16,
                         num_convs=1, concat_input=False, dropout_ratio=0.1,
                         num_classes=11, norm_cfg=norm, align_corners=False,
                         loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False,
                                          loss_weight=1.0)),
        train_cfg=dict(), test_cfg=dict(mode='whole'))
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(ConfigDict(cfg))
    model.init_weights()
    return model


def _images(sizes, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=gen)
            for h, w in sizes]


def det_batch(sizes=((48, 64), (64, 40)), boxes=([[4., 6., 30., 40.]], []), seed=0):
    from mmdet.structures import DetDataSample
    samples = []
    for (h, w), img_boxes in zip(sizes, boxes):
        sample = DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w),
                                             scale_factor=(1.0, 1.0)))
        bboxes = torch.tensor(img_boxes, dtype=torch.float32).reshape(-1, 4)
        sample.gt_instances = InstanceData(
            bboxes=bboxes, labels=torch.arange(len(bboxes), dtype=torch.long) % 10)
        samples.append(sample)
    return dict(inputs=_images(sizes, seed), data_samples=samples)


def seg_batch(sizes=((48, 40), (40, 48)), seed=0):
    from mmseg.structures import SegDataSample
    gen = torch.Generator().manual_seed(seed + 1)
    samples = []
    for h, w in sizes:
        label = torch.randint(0, 11, (1, h, w), generator=gen)
        label[:, :h // 2] = 0  # a large background area
        label[:, -3:, -3:] = 255  # some ignored pixels
        sample = SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w)))
        sample.gt_sem_seg = PixelData(data=label)
        samples.append(sample)
    return dict(inputs=_images(sizes, seed), data_samples=samples)


def cls_batch(num=2, size=(32, 32), seed=0, fg=True):
    samples = []
    for i in range(num):
        sample = ClsDataSample(metainfo=dict(img_shape=size))
        sample.gt_label = i % 10
        if fg:
            mask = torch.zeros(size, dtype=torch.bool)
            mask[8:20, 10 + i:22 + i] = True
            sample.gt_fg_mask = mask
        samples.append(sample)
    return dict(inputs=_images([size] * num, seed), data_samples=samples)


@pytest.fixture(scope='module')
def det():
    return det_model()


@pytest.fixture(scope='module')
def seg():
    return seg_model()


@pytest.fixture(scope='module')
def cls():
    return cls_model()


# ---------------------------------------------------------------- factory
def test_build_victim_picks_adapter(det, seg, cls):
    assert type(build_victim(det)) is DetectorVictim
    assert type(build_victim(seg)) is SegmentorVictim
    assert type(build_victim(cls)) is ClassifierVictim
    # A wrapper (DataParallel here; DDP alike) is unwrapped.
    victim = build_victim(nn.DataParallel(cls))
    assert victim.model is cls


def test_build_victim_rejects_unknown_model_and_option(cls):
    with pytest.raises(ConfigError, match='no victim adapter for Linear'):
        build_victim(nn.Linear(2, 2))
    with pytest.raises(ConfigError, match='gt_frame'):
        build_victim(cls, gt_frame='original')  # a detection-only option
    with pytest.raises(ConfigError, match='gt_frame'):
        DetectorVictim(det_model(), gt_frame='bogus')


# ---------------------------------------------------------------- round trip
@pytest.mark.parametrize('task', ['det', 'seg', 'cls'])
def test_round_trip(task, det, seg, cls):
    model, batch = dict(det=(det, det_batch()), seg=(seg, seg_batch()),
                        cls=(cls, cls_batch()))[task]
    before = copy.deepcopy(batch)
    victim = build_victim(model)
    pixels, samples, info = victim.to_pixels(batch)
    assert pixels.dtype == torch.float32 and pixels.dim() == 4
    assert float(pixels.min()) >= 0 and float(pixels.max()) <= 255
    images = victim.from_pixels(pixels, info)
    assert len(images) == len(batch['inputs'])
    for img, orig in zip(images, batch['inputs']):
        assert img.dtype == torch.float32 and img.shape == orig.shape
        assert torch.allclose(img, orig.float(), atol=1e-3)
    # The batch itself is left alone (the preprocessor ran on copies).
    for new, old in zip(batch['inputs'], before['inputs']):
        assert torch.equal(new, old)
    if task == 'seg':
        for new, old in zip(batch['data_samples'], before['data_samples']):
            assert new.gt_sem_seg.shape == old.gt_sem_seg.shape


def test_to_pixels_model_channel_order_and_padding(det):
    batch = det_batch()
    victim = build_victim(det)
    pixels, samples, info = victim.to_pixels(batch)
    assert pixels.shape == (2, 3, 64, 64)  # padded to a multiple of 32
    assert info['sizes'] == [(48, 64), (64, 40)] and info['flip']
    # RGB inside the victim: channel 0 is the dataloader's (BGR) channel 2.
    assert torch.allclose(pixels[0, 0, :48, :64], batch['inputs'][0][2].float(),
                          atol=1e-3)
    assert samples[1].batch_input_shape == (64, 64)


def test_stacked_tensor_inputs_round_trip(cls):
    batch = cls_batch(num=3)
    batch['inputs'] = torch.stack(batch['inputs'])
    victim = build_victim(cls)
    pixels, _, info = victim.to_pixels(batch)
    images = victim.from_pixels(pixels, info)
    assert torch.allclose(torch.stack(images), batch['inputs'].float(), atol=1e-3)


# ---------------------------------------------------------------- loss
@pytest.mark.parametrize('task', ['det', 'seg', 'cls'])
def test_loss_is_differentiable_scalar(task, det, seg, cls):
    model, batch = dict(det=(det, det_batch()), seg=(seg, seg_batch()),
                        cls=(cls, cls_batch()))[task]
    victim = build_victim(model)
    pixels, samples, _ = victim.to_pixels(batch)
    pixels.requires_grad_(True)
    with victim.attack_mode():
        loss = victim.loss(pixels, samples)
        grad, = torch.autograd.grad(loss, pixels)
    assert loss.dim() == 0 and torch.isfinite(loss)
    assert grad.shape == pixels.shape and float(grad.abs().sum()) > 0


def test_loss_keys_restrict_and_unknown_key_names_it(det):
    batch = det_batch()
    full = build_victim(det)
    part = build_victim(det, loss_keys=['loss_cls'])
    pixels, samples, _ = full.to_pixels(batch)
    with full.attack_mode():
        torch.manual_seed(0)
        everything = full.loss(pixels, samples)
        torch.manual_seed(0)
        only_cls = part.loss(pixels, samples)
    assert float(only_cls) < float(everything)
    bad = build_victim(det, loss_keys=['loss_cls', 'loss_nope'])
    with pytest.raises(ConfigError, match=r"loss_nope.*loss_rpn_cls"):
        bad.loss(pixels, samples)


def test_per_sample_loss(cls, seg):
    victim = build_victim(cls)
    pixels, samples, _ = victim.to_pixels(cls_batch(num=3))
    with victim.attack_mode():
        losses = victim.per_sample_loss(pixels, samples)
        mean = victim.loss(pixels, samples)
    assert losses.shape == (3, )
    assert torch.allclose(losses.mean(), mean, atol=1e-5)
    seg_victim = build_victim(seg)
    with pytest.raises(ConfigError, match='per-example'):
        seg_victim.per_sample_loss(pixels, samples)


def test_predict(det, cls):
    victim = build_victim(cls)
    pixels, samples, _ = victim.to_pixels(cls_batch())
    preds = victim.predict(pixels, samples)
    assert len(preds) == 2 and 'pred_label' in preds[0]
    victim = build_victim(det)
    pixels, samples, _ = victim.to_pixels(det_batch())
    preds = victim.predict(pixels, samples)
    assert len(preds) == 2 and 'pred_instances' in preds[0]


# ---------------------------------------------------------------- masks
def test_detection_background_mask(det):
    batch = det_batch()
    victim = build_victim(det)
    pixels, samples, _ = victim.to_pixels(batch)
    mask = victim.background_mask(samples, pixels.shape)
    assert mask.shape == (2, 1, 64, 64)
    # Box [4, 6, 30, 40]: x in [4, 30), y in [6, 40) is object.
    assert float(mask[0, 0, 6:40, 4:30].max()) == 0
    assert float(mask[0].sum()) == 64 * 64 - 26 * 34
    # The second image has no box: all background.
    assert bool((mask[1] == 1).all())


def test_detection_gt_frame_original(det):
    batch = det_batch(boxes=([[2., 3., 15., 20.]], []))
    batch['data_samples'][0].set_metainfo(dict(scale_factor=(2.0, 2.0)))
    victim = build_victim(det, gt_frame='original')
    pixels, samples, _ = victim.to_pixels(batch)
    assert samples[0].gt_instances.bboxes.tolist() == [[4., 6., 30., 40.]]
    # The batch's own boxes are untouched.
    assert batch['data_samples'][0].gt_instances.bboxes.tolist() == [[2., 3., 15., 20.]]


def test_segmentation_background_mask(seg):
    batch = seg_batch()
    victim = build_victim(seg, background_classes=[0, 3])
    pixels, samples, _ = victim.to_pixels(batch)
    assert pixels.shape == (2, 3, 48, 48)
    mask = victim.background_mask(samples, pixels.shape)
    for i, sample in enumerate(batch['data_samples']):
        label = sample.gt_sem_seg.data[0]
        h, w = label.shape
        expected = ((label == 0) | (label == 3) | (label == 255)).float()
        assert torch.equal(mask[i, 0, :h, :w], expected)
        # Padding is background.
        assert bool((mask[i, 0, h:, :] == 1).all()) and bool((mask[i, 0, :, w:] == 1).all())


def test_segmentation_mask_of_label_map_at_other_resolution(seg):
    victim = build_victim(seg)
    batch = seg_batch(sizes=((48, 48), (48, 48)))
    pixels, samples, _ = victim.to_pixels(batch)
    label = torch.zeros(1, 24, 24, dtype=torch.long)
    label[:, :12, :12] = 5
    samples[0].gt_sem_seg = PixelData(data=label)  # kept at half resolution
    mask = victim.background_mask(samples, pixels.shape)
    assert float(mask[0, 0, :24, :24].max()) == 0 and float(mask[0, 0, 24:].min()) == 1


def test_classification_background_mask(cls):
    batch = cls_batch()
    victim = build_victim(cls)
    pixels, samples, _ = victim.to_pixels(batch)
    mask = victim.background_mask(samples, pixels.shape)
    for i, sample in enumerate(batch['data_samples']):
        assert torch.equal(mask[i, 0], (~sample.gt_fg_mask).float())
    with pytest.raises(ConfigError, match='cannot provide a background mask'):
        nomask = cls_batch(fg=False)
        _, samples, _ = victim.to_pixels(nomask)
        victim.background_mask(samples, pixels.shape)


def test_valid_mask_excludes_padding(det):
    victim = build_victim(det)
    pixels, samples, _ = victim.to_pixels(det_batch())
    valid = victim.valid_mask(samples, pixels.shape)
    assert float(valid[0].sum()) == 48 * 64 and float(valid[1].sum()) == 64 * 40
    assert float(valid[0, 0, 48:].max()) == 0 and float(valid[1, 0, :, 40:].max()) == 0


# ---------------------------------------------------------------- attack mode
def _bn_buffers(model):
    return {k: v.clone() for k, v in model.state_dict().items()
            if 'running_' in k or 'num_batches_tracked' in k}


@pytest.mark.parametrize('task', ['det', 'seg', 'cls'])
def test_attack_leaves_params_grads_and_bn_alone(task):
    model, batch = dict(det=(det_model, det_batch), seg=(seg_model, seg_batch),
                        cls=(cls_model, cls_batch))[task]
    model, batch = model(), batch()
    model.train()
    params = list(model.parameters())
    params[0].grad = torch.full_like(params[0], 0.5)  # one with a grad, others None
    frozen = params[1]
    frozen.requires_grad_(False)
    buffers = _bn_buffers(model)
    assert buffers
    victim = build_victim(model)
    pixels, samples, _ = victim.to_pixels(batch)
    adv = PGD(eps=8 / 255, alpha=2 / 255, steps=2)(victim, pixels, samples)
    assert not torch.equal(adv, pixels)
    assert torch.equal(params[0].grad, torch.full_like(params[0], 0.5))
    assert all(p.grad is None for p in params[1:])
    assert all(p.requires_grad for p in params if p is not frozen)
    assert not frozen.requires_grad
    for key, value in _bn_buffers(model).items():
        assert torch.equal(value, buffers[key]), key
    assert model.training and all(m.training for m in model.modules())


def test_attack_mode_restores_eval_and_mixed_modes_even_on_error(cls):
    victim = build_victim(cls)
    cls.eval()
    with victim.attack_mode():
        assert not cls.training
    assert not any(m.training for m in cls.modules())
    cls.train()
    cls.backbone.layer1.eval()  # a deliberately mixed state
    with pytest.raises(RuntimeError, match='boom'):
        with victim.attack_mode():
            assert not any(p.requires_grad for p in cls.parameters())
            raise RuntimeError('boom')
    assert cls.training and not cls.backbone.layer1.training
    assert cls.backbone.layer2.training
    assert all(p.requires_grad for p in cls.parameters())
