"""Packing transform of the classification pipeline."""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmgat.registry import TRANSFORMS
from mmgat.structures import ClsDataSample


@TRANSFORMS.register_module()
class PackClsInputs(BaseTransform):
    """Pack an image and its labels into the format the model expects.

    The output has two keys:

    - ``inputs``: the image as a contiguous ``(C, H, W)`` ``torch.Tensor`` with
      the dtype (usually uint8) and channel order (BGR after mmcv's
      ``LoadImageFromFile``) unchanged; the model's ``ImgDataPreprocessor``
      converts to float, swaps channels and normalizes on the device.
    - ``data_samples``: a :class:`ClsDataSample` with ``gt_label`` (if
      present), ``gt_fg_mask`` (if present) and the ``meta_keys`` found in
      the results as meta information.

    Required keys: ``img``. Optional keys: ``gt_label``, ``gt_fg_mask`` and
    the ``meta_keys``.

    Args:
        meta_keys (Sequence[str]): Keys copied to the data sample's meta
            information when present. Defaults to
            ``('img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip')``.

    Example:
        >>> pipeline = [
        ...     dict(type='LoadImageFromFile'),
        ...     dict(type='LoadForegroundMask'),
        ...     dict(type='PackClsInputs', meta_keys=('img_path', 'img_shape')),
        ... ]
    """

    def __init__(self,
                 meta_keys: Sequence[str] = ('img_path', 'ori_shape', 'img_shape',
                                             'scale_factor', 'flip')) -> None:
        if isinstance(meta_keys, str):
            meta_keys = (meta_keys, )
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        if 'img' not in results:
            raise KeyError("PackClsInputs needs 'img' in the sample (load it with "
                           f'LoadImageFromFile first), got keys {sorted(results)}')
        img = results['img']
        if not isinstance(img, np.ndarray) or img.ndim not in (2, 3):
            raise TypeError('PackClsInputs expects an (H, W) or (H, W, C) numpy image, '
                            f'got {type(img).__name__} '
                            f'{getattr(img, "shape", "")}')
        if img.ndim == 2:  # grayscale: keep a channel axis so batches stack
            img = img[..., None]
        inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))

        data_sample = ClsDataSample()
        if 'gt_label' in results:
            data_sample.gt_label = results['gt_label']
        if 'gt_fg_mask' in results:
            mask = results['gt_fg_mask']
            if tuple(mask.shape) != tuple(img.shape[:2]):
                where = results.get('mask_path', results.get('img_path', ''))
                raise ValueError(
                    f'foreground mask {where} has shape {tuple(mask.shape)} but the '
                    f'image has shape {tuple(img.shape[:2])}; geometric transforms '
                    'are not applied to gt_fg_mask')
            data_sample.gt_fg_mask = mask
        data_sample.set_metainfo(
            {key: results[key] for key in self.meta_keys if key in results})
        return dict(inputs=inputs, data_samples=data_sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
