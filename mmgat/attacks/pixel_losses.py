"""Per-pixel cross-entropy of a segmentor: what SegPGD, CosPGD and APGD weight and sum.

The scores and labels come from a victim with ``supports_pixel_logits``
(:meth:`mmgat.victims.SegmentorVictim.pixel_logits` / ``pixel_labels``); ignored pixels
(``ignore_index``, which includes the batch padding) have no loss and count nowhere.
"""
from typing import Tuple

import torch
import torch.nn.functional as F

from mmgat.utils.errors import ConfigError


def require_pixel_logits(victim, owner: str) -> None:
    """Raise :class:`ConfigError` unless ``victim`` gives per-pixel class scores."""
    if not getattr(victim, 'supports_pixel_logits', False):
        task = getattr(victim, 'task', '') or 'unknown task'
        raise ConfigError(f'{owner} is a segmentation attack: it needs per-pixel '
                          f'logits, which {type(victim).__name__} ({task}) cannot give')


def pixel_cross_entropy(logits: torch.Tensor, labels: torch.Tensor,
                        ignore_index: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy of every pixel.

    Args:
        logits (Tensor): ``N x K x H x W`` class scores.
        labels (Tensor): ``N x H x W`` classes; ``ignore_index`` marks pixels
            without a label.
        ignore_index (int): The label of ignored pixels.

    Returns:
        tuple: ``(ce, valid)``, both ``N x H x W``: the cross-entropy (0 on ignored
        pixels, differentiable w.r.t. ``logits``) and the bool mask of labelled
        pixels.
    """
    valid = labels != ignore_index
    num_classes = logits.shape[1]
    outside = valid & ((labels >= num_classes) | (labels < 0))
    if bool(outside.any()):  # cross_entropy would fail with an indexing error
        bad = int(labels[outside][0])
        raise ConfigError(f'label {bad} is outside the {num_classes} classes of the '
                          f'segmentor and is not ignore_index={ignore_index}')
    safe = torch.where(valid, labels, torch.zeros_like(labels))
    ce = F.cross_entropy(logits, safe, reduction='none')
    return ce * valid, valid


def per_image_mean(values: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """``[N]``: the mean of ``N x H x W`` values over each image's labelled pixels
    (0 for an image without any)."""
    count = valid.flatten(1).sum(dim=1).clamp_min(1).to(values.dtype)
    return (values * valid).flatten(1).sum(dim=1) / count


def per_image_pixel_ce(victim, pixels: torch.Tensor, data_samples: list,
                       labels: torch.Tensor) -> torch.Tensor:
    """``[N]``: each image's mean pixel cross-entropy (differentiable w.r.t. pixels)."""
    logits = victim.pixel_logits(pixels, data_samples)
    ce, valid = pixel_cross_entropy(logits, labels, victim.ignore_index)
    return per_image_mean(ce, valid)


__all__ = ['require_pixel_logits', 'pixel_cross_entropy', 'per_image_mean',
           'per_image_pixel_ce']
