"""Victim adapter for mmdet detectors."""
import math
from typing import Optional, Sequence

import torch
import torch.nn as nn

from mmgat.utils.errors import ConfigError
from .base_victim import BaseVictim

GT_FRAMES = ('input', 'original')


def _box_tensor(boxes) -> torch.Tensor:
    """mmdet boxes may be a ``HorizontalBoxes`` or a plain ``[K, 4]`` tensor."""
    return getattr(boxes, 'tensor', boxes)


class DetectorVictim(BaseVictim):
    """Adapter for an mmdet ``BaseDetector`` (Faster R-CNN, RetinaNet, ...).

    The attack loss is the sum of the detector's loss entries (RPN and RoI head
    losses of a two-stage detector, each summed over feature levels), or of
    ``loss_keys`` only, e.g. ``loss_keys=['loss_cls']``.

    The background is every pixel outside all ground-truth boxes (``gt_instances``
    and ``gt_ignore_instances``); an image without boxes is all background.

    Args:
        model (nn.Module): An mmdet detector (DDP wrappers are unwrapped).
        loss_keys (Sequence[str], optional): Loss entries to sum. Defaults to all.
        background_classes (Sequence[int]): Unused for detection.
        gt_frame (str): Coordinate frame of the ground-truth boxes in the batch:
            ``'input'`` (default; training pipelines load annotations before
            ``Resize``, so boxes match the network input) or ``'original'``
            (mmdet's default *test* pipelines load annotations after ``Resize``:
            the boxes are rescaled by the sample's ``scale_factor``).

    Example:
        >>> victim = build_victim(detector, loss_keys=['loss_cls', 'loss_bbox'])
        >>> pixels, samples, info = victim.to_pixels(data_batch)
        >>> victim.loss(pixels, samples).backward()
    """

    task = 'detection'

    def __init__(self,
                 model: nn.Module,
                 loss_keys: Optional[Sequence[str]] = None,
                 background_classes: Sequence[int] = (0, ),
                 gt_frame: str = 'input') -> None:
        super().__init__(model, loss_keys=loss_keys,
                         background_classes=background_classes)
        if gt_frame not in GT_FRAMES:
            raise ConfigError(f'gt_frame must be one of {GT_FRAMES}, got {gt_frame!r}')
        self.gt_frame = gt_frame

    def _prepare_samples(self, data_samples: list, shape: torch.Size) -> None:
        if self.gt_frame != 'original':
            return
        for sample in data_samples:
            scale = sample.metainfo.get('scale_factor')
            if scale is None:
                raise ConfigError('gt_frame="original" needs "scale_factor" in the '
                                  'data samples\' metainfo')
            sx, sy = float(scale[0]), float(scale[1])
            for field in ('gt_instances', 'gt_ignore_instances'):
                if field in sample and 'bboxes' in sample.get(field):
                    instances = sample.get(field)
                    boxes = _box_tensor(instances.bboxes)
                    factor = boxes.new_tensor([sx, sy, sx, sy])
                    instances.bboxes = boxes * factor

    def background_mask(self, data_samples: list, shape: Sequence[int],
                        device: Optional[torch.device] = None) -> torch.Tensor:
        """1 outside every ground-truth box, 0 inside (``N x 1 x H x W``).

        A pixel partly covered by a box counts as inside, so the box content is
        never perturbed. Ignored (crowd) boxes count as objects too.
        """
        height, width = shape[-2:]
        mask = torch.ones(len(data_samples), 1, height, width, device=device)
        for i, sample in enumerate(data_samples):
            for field in ('gt_instances', 'gt_ignore_instances'):
                if field not in sample or 'bboxes' not in sample.get(field):
                    continue
                boxes = _box_tensor(sample.get(field).bboxes)
                for x1, y1, x2, y2 in boxes.detach().cpu().tolist():
                    left = max(0, math.floor(x1))
                    top = max(0, math.floor(y1))
                    right = min(width, math.ceil(x2))
                    bottom = min(height, math.ceil(y2))
                    if right > left and bottom > top:
                        mask[i, :, top:bottom, left:right] = 0
        return mask
