"""Reconstruction quality of a generator: PSNR and L1 on the 0-255 scale."""
import math
from typing import Any, Optional, Sequence

import torch
from mmengine.evaluator import BaseMetric

from mmgat.registry import METRICS


def _get(sample: Any, key: str) -> Any:
    # The evaluator hands dicts (``DataSample.to_dict()``); a direct call may hand
    # data sample objects. Both support ``get``.
    return sample.get(key, None)


def psnr(pred: torch.Tensor, target: torch.Tensor, max_value: float = 255.0) -> float:
    """PSNR in dB of two equally shaped tensors; ``inf`` when they are equal."""
    mse = float(((pred.double() - target.double()) ** 2).mean())
    return math.inf if mse == 0 else 10 * math.log10(max_value ** 2 / mse)


@METRICS.register_module()
class ReconstructionPSNR(BaseMetric):
    """PSNR (dB) and mean absolute error of reconstructions, averaged over images.

    Each data sample must hold ``pred_pixels`` (the reconstruction) and ``gt_pixels``
    (the input), C x H x W on the 0-255 scale, as :class:`mmgat.StyleAutoEncoder`'s
    ``'predict'`` mode sets them. Only the valid image area (``img_shape`` of the
    sample's meta information, i.e. without batch padding) is scored; the prediction is
    clipped to [0, 255]. Results: ``{'psnr': ..., 'l1': ...}`` (``l1`` on the 0-255
    scale), without a prefix unless ``prefix`` is given.

    Args:
        collect_device (str): Device used to gather results across ranks.
        prefix (str, optional): Prefix of the metric names. Defaults to none.

    Example:
        >>> val_evaluator = dict(type='mmgat.ReconstructionPSNR')
    """

    default_prefix: Optional[str] = ''

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        for sample in data_samples:
            pred, gt = _get(sample, 'pred_pixels'), _get(sample, 'gt_pixels')
            if pred is None or gt is None:
                raise ValueError('ReconstructionPSNR: a data sample lacks pred_pixels / '
                                 'gt_pixels (is the model a generator in predict mode?)')
            pred = torch.as_tensor(pred).detach().float().cpu().clamp(0, 255)
            gt = torch.as_tensor(gt).detach().float().cpu()
            shape = _get(sample, 'img_shape')
            if shape is not None:
                h, w = int(shape[0]), int(shape[1])
                pred, gt = pred[..., :h, :w], gt[..., :h, :w]
            if pred.shape != gt.shape:
                raise ValueError(f'ReconstructionPSNR: prediction {tuple(pred.shape)} and '
                                 f'input {tuple(gt.shape)} differ in shape')
            self.results.append(dict(psnr=psnr(pred, gt),
                                     l1=float((pred - gt).abs().mean())))

    def compute_metrics(self, results: list) -> dict:
        if not results:
            return dict(psnr=float('nan'), l1=float('nan'))
        n = len(results)
        return dict(psnr=sum(r['psnr'] for r in results) / n,
                    l1=sum(r['l1'] for r in results) / n)
