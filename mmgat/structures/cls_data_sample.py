"""Data sample of one image-classification example."""
from numbers import Integral
from typing import Any

import numpy as np
import torch
from mmengine.structures import BaseDataElement


def _to_label(value: Any, name: str) -> torch.Tensor:
    """Normalize an int / 0-d / 1-element label to a LongTensor of shape ``[1]``."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f'{name} must be an integer class index, got {value!r}')
    if isinstance(value, Integral):
        return torch.tensor([int(value)], dtype=torch.long)
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(value)
    if not isinstance(value, torch.Tensor):
        raise TypeError(f'{name} must be an int, numpy array or torch.Tensor, '
                        f'got {type(value).__name__}')
    if value.numel() != 1:
        raise ValueError(f'{name} must hold exactly one class index, '
                         f'got shape {tuple(value.shape)}')
    # Float labels would silently truncate (2.7 -> 2): refuse them.
    if value.is_floating_point() or value.is_complex() or value.dtype == torch.bool:
        raise TypeError(f'{name} must have an integer dtype, got {value.dtype}')
    return value.reshape(1).long()


def _to_score(value: Any) -> torch.Tensor:
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(value)
    if not isinstance(value, torch.Tensor):
        raise TypeError('pred_score must be a numpy array or torch.Tensor, '
                        f'got {type(value).__name__}')
    if value.ndim != 1:
        raise ValueError('pred_score must have shape [num_classes], '
                         f'got {tuple(value.shape)}')
    return value if value.is_floating_point() else value.float()


def _to_mask(value: Any) -> torch.Tensor:
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(np.ascontiguousarray(value))
    if not isinstance(value, torch.Tensor):
        raise TypeError('gt_fg_mask must be a numpy array or torch.Tensor, '
                        f'got {type(value).__name__}')
    if value.ndim != 2:
        raise ValueError(f'gt_fg_mask must have shape [H, W], got {tuple(value.shape)}')
    # Any non-zero value is foreground, matching how the mask PNGs are written.
    return value if value.dtype == torch.bool else value != 0


class ClsDataSample(BaseDataElement):
    """Annotations and predictions of one classification example.

    Field conventions (the setters convert inputs to these, so they always hold):

    - ``gt_label``: ``torch.LongTensor`` of shape ``[1]`` (an int, a 0-d or a
      one-element tensor / array is accepted and reshaped). Batch labels are
      ``torch.cat([s.gt_label for s in samples])`` -> shape ``[N]``.
    - ``pred_label``: ``torch.LongTensor`` of shape ``[1]``, same rules.
    - ``pred_score``: float tensor of shape ``[num_classes]``, softmax
      probabilities (they sum to 1).
    - ``gt_fg_mask``: ``torch.BoolTensor`` of shape ``[H, W]``, True on the
      object (digit) pixels; a non-bool mask is converted with ``!= 0``.
      Used by attacks restricted to the background (``~gt_fg_mask``).

    Meta information (``img_path``, ``ori_shape``, ``img_shape``, ...) is set
    with :meth:`set_metainfo`, as for mmdet's ``DetDataSample``.

    Examples:
        >>> sample = ClsDataSample(metainfo=dict(img_shape=(32, 32)))
        >>> sample.gt_label = 3
        >>> sample.gt_label
        tensor([3])
        >>> sample.pred_score = torch.tensor([0.1, 0.9])
        >>> 'pred_score' in sample
        True
    """

    @property
    def gt_label(self) -> torch.Tensor:
        return self._gt_label

    @gt_label.setter
    def gt_label(self, value: Any):
        self.set_field(_to_label(value, 'gt_label'), '_gt_label', dtype=torch.Tensor)

    @gt_label.deleter
    def gt_label(self):
        del self._gt_label

    @property
    def pred_label(self) -> torch.Tensor:
        return self._pred_label

    @pred_label.setter
    def pred_label(self, value: Any):
        self.set_field(_to_label(value, 'pred_label'), '_pred_label', dtype=torch.Tensor)

    @pred_label.deleter
    def pred_label(self):
        del self._pred_label

    @property
    def pred_score(self) -> torch.Tensor:
        return self._pred_score

    @pred_score.setter
    def pred_score(self, value: Any):
        self.set_field(_to_score(value), '_pred_score', dtype=torch.Tensor)

    @pred_score.deleter
    def pred_score(self):
        del self._pred_score

    @property
    def gt_fg_mask(self) -> torch.Tensor:
        return self._gt_fg_mask

    @gt_fg_mask.setter
    def gt_fg_mask(self, value: Any):
        self.set_field(_to_mask(value), '_gt_fg_mask', dtype=torch.Tensor)

    @gt_fg_mask.deleter
    def gt_fg_mask(self):
        del self._gt_fg_mask
