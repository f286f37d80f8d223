"""Tiny detector and classifier shared by the attack, hook and victim tests.

Widths of 8 channels keep one forward/backward pass in milliseconds on a CPU; the
detector's FPN has 4 levels (strides 4-32) so 48-64 px images still give >= 2x2 maps.
"""
import contextlib

import torch
from mmengine.config import ConfigDict
from mmengine.registry import DefaultScope

from mmgat.models import ImageClassifier

MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]


def det_model():
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    assigner = dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.3,
                    min_pos_iou=0.3, match_low_quality=True, ignore_iof_thr=-1)
    cfg = dict(
        type='FasterRCNN',
        data_preprocessor=dict(type='DetDataPreprocessor', mean=MEAN, std=STD,
                               bgr_to_rgb=True, pad_size_divisor=32),
        backbone=dict(type='ResNet', depth=18, base_channels=8, num_stages=4,
                      out_indices=(0, 1, 2, 3), frozen_stages=-1,
                      norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False,
                      style='pytorch'),
        neck=dict(type='FPN', in_channels=[8, 16, 32, 64], out_channels=16, num_outs=4),
        rpn_head=dict(
            type='RPNHead', in_channels=16, feat_channels=16,
            anchor_generator=dict(type='AnchorGenerator', scales=[2], ratios=[1.0],
                                  strides=[4, 8, 16, 32]),  # >= 2x2 maps
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4,
                            target_stds=[1.0] * 4),
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
        roi_head=dict(
            type='StandardRoIHead',
            bbox_roi_extractor=dict(
                type='SingleRoIExtractor',
                roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
                out_channels=16, featmap_strides=[4, 8, 16, 32]),
            bbox_head=dict(
                type='Shared2FCBBoxHead', in_channels=16, fc_out_channels=32,
                roi_feat_size=7, num_classes=10,
                bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4,
                                target_stds=[0.1, 0.1, 0.2, 0.2]),
                reg_class_agnostic=False,
                loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False,
                              loss_weight=1.0),
                loss_bbox=dict(type='L1Loss', loss_weight=1.0))),
        train_cfg=dict(
            rpn=dict(assigner=assigner,
                     sampler=dict(type='RandomSampler', num=64, pos_fraction=0.5,
                                  neg_pos_ub=-1, add_gt_as_proposals=False),
                     allowed_border=-1, pos_weight=-1, debug=False),
            rpn_proposal=dict(nms_pre=200, max_per_img=50,
                              nms=dict(type='nms', iou_threshold=0.7), min_bbox_size=0),
            rcnn=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5,
                                    neg_iou_thr=0.5, min_pos_iou=0.5,
                                    match_low_quality=False, ignore_iof_thr=-1),
                      sampler=dict(type='RandomSampler', num=64, pos_fraction=0.25,
                                   neg_pos_ub=-1, add_gt_as_proposals=True),
                      pos_weight=-1, debug=False)),
        test_cfg=dict(
            rpn=dict(nms_pre=200, max_per_img=50, nms=dict(type='nms', iou_threshold=0.7),
                     min_bbox_size=0),
            rcnn=dict(score_thr=0.0, nms=dict(type='nms', iou_threshold=0.5),
                      max_per_img=20)))
    torch.manual_seed(0)
    # BaseModel builds the data preprocessor from mmengine's root registry.
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(ConfigDict(cfg))  # mmdet reads train_cfg.rpn
    model.init_weights()
    return model


def cls_model():
    torch.manual_seed(0)
    model = ImageClassifier(
        backbone=dict(type='mmdet.ResNet', depth=18, base_channels=8, num_stages=4,
                      out_indices=(3, ), norm_cfg=dict(type='BN'), norm_eval=False,
                      style='pytorch'),
        num_classes=10, in_channels=64,
        data_preprocessor=dict(type='ImgDataPreprocessor', mean=[127.5] * 3,
                               std=[127.5] * 3, bgr_to_rgb=True))
    model.init_weights()
    return model


def fit_to_batch(model, batch, iters, lr=1e-2):
    """``model`` fitted to one ``batch`` (``iters`` Adam steps on the sum of its loss
    entries, seed 0), returned in eval mode."""
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(iters):
        data = model.data_preprocessor(dict(inputs=list(batch['inputs']),
                                            data_samples=batch['data_samples']), True)
        losses = model.loss(data['inputs'], data['data_samples'])
        loss = sum(sum(v) if isinstance(v, list) else v
                   for k, v in losses.items() if 'loss' in k)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    return model


def trained_classifier(batch, iters=40):
    """The tiny classifier fitted to ``batch`` (a few Adam steps, seconds on a CPU).

    A random network's loss hardly moves under a small perturbation; a fitted one has
    a low clean loss that an attack can visibly raise.
    """
    return fit_to_batch(cls_model(), batch, iters)


class StubVictim:
    """The victim protocol with no model behind it: subclasses write only ``loss``.

    Whole image perturbable, identity normalisation, RGB pixels, every sample the full
    batch size (see :class:`mmgat.victims.BaseVictim` for the real protocol).
    """

    task = 'classification'
    supports_per_sample_loss = False
    supports_margin_loss = False

    @contextlib.contextmanager
    def attack_mode(self):
        yield self

    def loss(self, pixels, data_samples):
        raise NotImplementedError

    def normalize(self, pixels):
        return pixels

    def channel_order(self, channels):
        return 'rgb'

    @staticmethod
    def valid_shape(sample, shape):
        return tuple(shape[-2:])

    def valid_mask(self, data_samples, shape, device=None):
        return torch.ones(shape[0], 1, *shape[-2:], device=device)
