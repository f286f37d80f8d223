"""A small random affine warp for classification images and their foreground masks."""
from typing import Sequence

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mmgat.registry import TRANSFORMS
from mmgat.utils.errors import ConfigError


@TRANSFORMS.register_module()
class RandomAffineWarp(BaseTransform):
    """Rotate, scale and shift an image (and ``gt_fg_mask``) by a small random amount.

    mmcv's geometric transforms do not know the classification foreground mask; this one
    warps both with the same matrix (bilinear for the image, nearest for the mask), so
    background-only attacks still see the right pixels. Digits stay digits: no flips.

    Required keys: ``img``; modified: ``img``, ``gt_fg_mask`` (if present).

    Args:
        max_rotate (float): Maximum rotation in degrees (uniform in +-max_rotate).
        max_translate (float): Maximum shift as a fraction of the image size.
        scale (Sequence[float]): Range of the isotropic scale factor.
        prob (float): Probability of warping at all.
        border_mode (str): ``'reflect'`` or ``'replicate'``: how pixels that enter
            from outside the image are filled (a constant would draw a visible frame).

    Example:
        >>> train_pipeline = [
        ...     dict(type='LoadImageFromFile'),
        ...     dict(type='mmgat.LoadForegroundMask'),
        ...     dict(type='mmgat.RandomAffineWarp', max_rotate=10, max_translate=0.1),
        ...     dict(type='mmgat.PackClsInputs'),
        ... ]
    """

    BORDERS = {'reflect': cv2.BORDER_REFLECT_101, 'replicate': cv2.BORDER_REPLICATE}

    def __init__(self,
                 max_rotate: float = 10.0,
                 max_translate: float = 0.1,
                 scale: Sequence[float] = (0.9, 1.1),
                 prob: float = 1.0,
                 border_mode: str = 'reflect') -> None:
        if max_rotate < 0 or not 0 <= max_translate < 0.5:
            raise ConfigError(f'RandomAffineWarp: max_rotate must be >= 0 and '
                              f'max_translate in [0, 0.5), got {max_rotate}, '
                              f'{max_translate}')
        if len(scale) != 2 or not 0 < scale[0] <= scale[1]:
            raise ConfigError(f'RandomAffineWarp: scale must be (low, high) with '
                              f'0 < low <= high, got {scale}')
        if not 0 <= prob <= 1:
            raise ConfigError(f'RandomAffineWarp: prob must be in [0, 1], got {prob}')
        if border_mode not in self.BORDERS:
            raise ConfigError(f'RandomAffineWarp: border_mode must be one of '
                              f'{sorted(self.BORDERS)}, got {border_mode!r}')
        self.max_rotate = max_rotate
        self.max_translate = max_translate
        self.scale = tuple(scale)
        self.prob = prob
        self.border_mode = border_mode

    def _matrix(self, h: int, w: int) -> np.ndarray:
        angle = np.random.uniform(-self.max_rotate, self.max_rotate)
        scale = np.random.uniform(*self.scale)
        tx, ty = np.random.uniform(-self.max_translate, self.max_translate, 2) * (w, h)
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
        matrix[:, 2] += (tx, ty)
        return matrix

    def transform(self, results: dict) -> dict:
        if self.prob < 1 and np.random.rand() >= self.prob:
            return results
        img = results['img']
        h, w = img.shape[:2]
        matrix = self._matrix(h, w)
        border = self.BORDERS[self.border_mode]
        results['img'] = cv2.warpAffine(img, matrix, (w, h), flags=cv2.INTER_LINEAR,
                                        borderMode=border)
        if 'gt_fg_mask' in results:
            mask = results['gt_fg_mask'].astype(np.uint8)
            # Reflected borders could mirror the digit; the mask must then follow.
            warped = cv2.warpAffine(mask, matrix, (w, h), flags=cv2.INTER_NEAREST,
                                    borderMode=border)
            results['gt_fg_mask'] = warped.astype(bool)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(max_rotate={self.max_rotate}, '
                f'max_translate={self.max_translate}, scale={self.scale}, '
                f'prob={self.prob}, border_mode={self.border_mode!r})')
