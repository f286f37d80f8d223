"""ReconstructionPSNR against hand-computed values."""
import math

import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.structures import BaseDataElement

from mmgat.generators import ReconstructionPSNR
from mmgat.registry import METRICS


def sample(pred, gt, img_shape=None):
    s = BaseDataElement(metainfo=dict(img_shape=img_shape) if img_shape else {})
    s.pred_pixels = pred
    s.gt_pixels = gt
    return s


def test_psnr_and_l1_by_hand():
    gt = torch.zeros(3, 4, 4)
    pred = gt.clone()
    pred[0, 1, 2] = 10.0  # one channel of one pixel off by 10
    # MSE = 100 / 48, PSNR = 10 log10(255^2 * 48 / 100); L1 = 10 / 48
    expected = 10 * math.log10(255 ** 2 * 48 / 100)
    pred2 = torch.full((3, 4, 4), 300.0)  # clipped to 255: error 255 everywhere -> 0 dB
    gt2 = torch.zeros(3, 4, 4)
    metric = METRICS.build(dict(type='mmgat.ReconstructionPSNR'))
    evaluator = Evaluator(metric)
    evaluator.process([sample(pred, gt), sample(pred2, gt2)])
    result = evaluator.evaluate(2)
    assert set(result) == {'psnr', 'l1'}  # no prefix
    assert result['psnr'] == pytest.approx((expected + 0.0) / 2)
    assert result['l1'] == pytest.approx((10 / 48 + 255) / 2)


def test_only_the_valid_area_counts():
    gt = torch.zeros(3, 8, 8)
    pred = gt.clone()
    pred[:, 6:, :] = 200  # batch padding rows: ignored
    pred[:, :, 5:] = 200  # also padding columns
    pred[1, 0, 0] = 5
    metric = ReconstructionPSNR()
    metric.process({}, [sample(pred, gt, img_shape=(6, 5)).to_dict()])
    result = metric.compute_metrics(metric.results)
    assert result['psnr'] == pytest.approx(10 * math.log10(255 ** 2 * 90 / 25))


def test_missing_fields_are_explained():
    metric = ReconstructionPSNR()
    with pytest.raises(ValueError, match='pred_pixels / gt_pixels'):
        metric.process({}, [BaseDataElement()])
