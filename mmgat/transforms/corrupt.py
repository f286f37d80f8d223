"""``Corrupt``: apply one benchmark corruption to test images, reproducibly."""
import hashlib
import os.path as osp
from typing import Optional

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mmgat.registry import TRANSFORMS
from mmgat.utils.checks import is_int
from mmgat.transforms.corruptions import check_corruption, corrupt
from mmgat.utils.errors import ConfigError


def image_seed(seed: int, key) -> int:
    """The RNG seed for one image: the first 4 bytes of ``sha256(f'{seed}:{key}')``.

    A hash (not Python's ``hash()``, which is salted per process) so that every run,
    worker process and machine gives the same seed for the same image.
    """
    digest = hashlib.sha256(f'{seed}:{key}'.encode('utf-8')).digest()
    return int.from_bytes(digest[:4], 'little')


@TRANSFORMS.register_module()
class Corrupt(BaseTransform):
    """Corrupt the image with one of the 19 benchmark corruptions (Michaelis et al. 2019).

    A working replacement for mmdet's ``Corrupt`` (whose ``imagecorruptions`` 1.1.2 crashes
    on ``glass_blur``, ``gaussian_blur`` and, with NumPy 2, ``fog``): it calls
    :func:`mmgat.transforms.corruptions.corrupt`. Put it right after
    ``LoadImageFromFile`` in a test pipeline of any scope (mmdet, mmseg, mmgat). mmcv
    pipelines hold BGR images; they are corrupted as RGB (the corruptions' convention:
    frost, spatter and the colour ones are not symmetric in the channels) and converted
    back. The output keeps the input's size, shape and dtype; a float image
    (``to_float32=True``) is clipped to 0-255 and rounded down to uint8 for the
    corruption (as mmdet does).

    Reproducibility: with ``seed`` set, each image gets its own seed,
    :func:`image_seed` ``(seed, key)``, where ``key`` is the image's file name
    (``osp.basename(results['img_path'])``, so the same file gets the same noise whatever
    the data root), else ``results['sample_idx']``, else nothing (one seed for all). The
    noise therefore depends neither on the order of the test set nor on the number of
    dataloader workers, and NumPy's global RNG is left as it was. It also does not depend
    on ``corruption`` or ``severity``: at one seed, the five severities of e.g.
    ``gaussian_noise`` scale the same noise pattern. With ``seed=None`` the corruption
    draws from NumPy's global RNG, like mmdet's ``Corrupt``.

    Required keys: ``img``; optional: ``img_path``, ``sample_idx``. Modified: ``img``.

    Args:
        corruption (str): one of :data:`mmgat.transforms.corruptions.CORRUPTIONS`.
        severity (int): 1 to 5.
        seed (int, optional): base seed (>= 0), see above. Default ``None``.

    Raises:
        ConfigError: unknown corruption (with the valid names and the closest one),
            severity outside 1-5 or a negative / non-integer seed, at build time.

    Example:
        >>> test_pipeline = [
        ...     dict(type='LoadImageFromFile'),
        ...     dict(type='mmgat.Corrupt', corruption='fog', severity=3, seed=0),
        ...     dict(type='Resize', scale=(1333, 800), keep_ratio=True),
        ...     dict(type='LoadAnnotations', with_bbox=True),
        ...     dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape',
        ...                                           'img_shape', 'scale_factor')),
        ... ]
        >>> # mmseg: the same, before the resize and the label map loading
        >>> seg_test_pipeline = [
        ...     dict(type='LoadImageFromFile'),
        ...     dict(type='mmgat.Corrupt', corruption='gaussian_blur', severity=5, seed=0),
        ...     dict(type='Resize', scale=(2048, 1024), keep_ratio=True),
        ...     dict(type='LoadAnnotations'),
        ...     dict(type='PackSegInputs'),
        ... ]
    """

    def __init__(self, corruption: str, severity: int, seed: Optional[int] = None) -> None:
        check_corruption(corruption, severity)
        if seed is not None and (not is_int(seed) or seed < 0):
            raise ConfigError(f'Corrupt: seed must be None or an integer >= 0, got {seed!r}')
        self.corruption = corruption
        self.severity = int(severity)
        self.seed = None if seed is None else int(seed)

    def _key(self, results: dict):
        path = results.get('img_path')
        if path:
            return osp.basename(str(path))
        return results.get('sample_idx', '')

    def transform(self, results: dict) -> dict:
        img = results['img']
        dtype, shape = img.dtype, img.shape
        img8 = img if dtype == np.uint8 else np.clip(img, 0, 255).astype(np.uint8)
        grey = img8.ndim == 2 or (img8.ndim == 3 and img8.shape[2] == 1)
        rgb = img8 if grey else np.ascontiguousarray(img8[..., ::-1])
        rng_seed = None if self.seed is None else image_seed(self.seed, self._key(results))
        out = corrupt(rgb, self.corruption, self.severity, rng_seed=rng_seed)
        if grey:  # corrupted as three equal channels; back to one
            out = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY).reshape(shape)
        else:
            out = np.ascontiguousarray(out[..., ::-1])
        results['img'] = out if dtype == np.uint8 else out.astype(dtype)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(corruption={self.corruption!r}, '
                f'severity={self.severity}, seed={self.seed})')
