"""Victim adapter for mmseg segmentors."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmgat.utils.errors import ConfigError
from .base_victim import BaseVictim


class SegmentorVictim(BaseVictim):
    """Adapter for an mmseg ``BaseSegmentor`` (EncoderDecoder, ...).

    The attack loss is the sum of the segmentor's loss entries (decode head and
    auxiliary heads, e.g. ``decode.loss_ce`` + ``aux.loss_ce``) or of ``loss_keys``.

    Per-pixel attacks (SegPGD, CosPGD, APGD's per-image loss) use
    :meth:`pixel_logits` and :meth:`pixel_labels`: the decode head's class scores and
    the ground truth, both in the padded pixel frame.

    The background is every pixel whose ground-truth class is in
    ``background_classes``, plus ignored pixels (``ignore_index``, 255 by default and
    the decode head's own) and the batch padding.

    Args:
        model (nn.Module): An mmseg segmentor (DDP wrappers are unwrapped).
        loss_keys (Sequence[str], optional): Loss entries to sum. Defaults to all.
        background_classes (Sequence[int]): Classes that may be perturbed.
            Defaults to ``(0, )``.
        ignore_index (int, optional): Label of ignored pixels. Defaults to the
            decode head's ``ignore_index`` (255 without one).

    Example:
        >>> victim = build_victim(segmentor, background_classes=[0])
        >>> pixels, samples, info = victim.to_pixels(data_batch)
        >>> mask = victim.background_mask(samples, pixels.shape)
    """

    task = 'segmentation'

    supports_pixel_logits = True

    def __init__(self,
                 model: nn.Module,
                 loss_keys: Optional[Sequence[str]] = None,
                 background_classes: Sequence[int] = (0, ),
                 ignore_index: Optional[int] = None) -> None:
        super().__init__(model, loss_keys=loss_keys,
                         background_classes=background_classes)
        if ignore_index is None:
            head = getattr(self.model, 'decode_head', None)
            ignore_index = getattr(head, 'ignore_index', 255)
        self.ignore_index = int(ignore_index)

    def _preprocess_training(self) -> bool:
        # mmseg pads (and pads gt_sem_seg along) only in training mode, and only
        # with a ``size`` or ``size_divisor``; without them training mode asserts,
        # while test mode stacks same-size images as they are.
        pre = self.preprocessor
        return (getattr(pre, 'size', None) is not None
                or getattr(pre, 'size_divisor', None) is not None)

    def pixel_logits(self, pixels: torch.Tensor, data_samples: list) -> torch.Tensor:
        """Class scores ``N x K x H x W`` at the pixels' (padded) resolution,
        differentiable w.r.t. ``pixels``.

        mmseg's ``encode_decode`` (backbone, neck, decode head(s) of a cascade) resizes
        the head's output bilinearly to the metainfo's ``pad_shape``, which is set
        here to the pixel frame, so the scores are those the training loss compares
        with the padded ground truth. The whole image is used, also when the model
        tests with ``mode='slide'``; auxiliary heads are not part of the scores.
        """
        height, width = pixels.shape[-2:]
        metas = [dict(getattr(sample, 'metainfo', {}), img_shape=(height, width),
                      pad_shape=(height, width)) for sample in data_samples]
        inputs = self.normalize(pixels)
        with self.mixed_precision(pixels):
            logits = self.model.encode_decode(inputs, metas)
        logits = logits.float()
        if tuple(logits.shape[-2:]) != (height, width):  # a head that ignores metas
            head = getattr(self.model, 'decode_head', None)
            logits = F.interpolate(logits, size=(height, width), mode='bilinear',
                                   align_corners=getattr(head, 'align_corners', False))
        return logits.float()

    def pixel_labels(self, data_samples: list, shape: Sequence[int],
                     device: Optional[torch.device] = None) -> torch.Tensor:
        """Ground-truth classes ``N x H x W`` (long) in the padded frame ``shape``;
        the padding and ignored pixels are :attr:`ignore_index`."""
        labels = []
        for i, sample in enumerate(data_samples):
            if 'gt_sem_seg' not in sample:
                raise ConfigError(f'segmentation sample {i} has no gt_sem_seg: a '
                                  'per-pixel attack needs the label maps')
            label = sample.gt_sem_seg.data
            label = label[0] if label.dim() == 3 else label
            h, w = self.valid_shape(sample, shape)
            label = self._fit_label_map(label.long(), (h, w), shape,
                                        self.ignore_index).clone()
            # The preprocessor pads with its seg_pad_val, maybe not ignore_index.
            label[h:, :] = self.ignore_index
            label[:, w:] = self.ignore_index
            labels.append(label.to(device=device))
        return torch.stack(labels)

    def background_mask(self, data_samples: list, shape: Sequence[int],
                        device: Optional[torch.device] = None) -> torch.Tensor:
        """1 on background / ignored / padding pixels, 0 on object classes."""
        height, width = shape[-2:]
        masks = []
        free = torch.tensor(sorted({*self.background_classes, self.ignore_index, 255}))
        for sample in data_samples:
            if 'gt_sem_seg' not in sample:
                masks.append(torch.ones(height, width, device=device))
                continue
            label = sample.gt_sem_seg.data
            label = label[0] if label.dim() == 3 else label
            h, w = self.valid_shape(sample, shape)
            label = self._fit_label_map(label.long(), (h, w), shape, self.ignore_index)
            bg = torch.isin(label, free.to(label.device))
            # Padding is background whatever value the preprocessor padded with.
            bg[h:, :] = True
            bg[:, w:] = True
            masks.append(bg.to(device=device, dtype=torch.float32))
        return torch.stack(masks)[:, None] if masks else torch.ones(
            0, 1, height, width, device=device)
