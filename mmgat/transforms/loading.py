"""Loading transforms for the classification pipeline."""
from typing import Optional

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine import fileio

from mmgat.registry import TRANSFORMS
from mmgat.utils.errors import CorruptImageError, DataNotFoundError


@TRANSFORMS.register_module()
class LoadForegroundMask(BaseTransform):
    """Load the foreground (object) mask of a classification example.

    Reads the image at ``results['mask_path']`` as grayscale and stores
    ``results['gt_fg_mask']``: a bool ``np.ndarray`` of shape ``(H, W)``,
    True where the pixel value is ``> 0``. :class:`PackClsInputs` puts it in
    the data sample, where background-only attacks read it.

    The mask is not resized or flipped by mmcv's geometric transforms, so put
    no geometric transform in a pipeline that uses it (``PackClsInputs``
    checks that mask and image have the same size).

    Required keys: ``mask_path``. Added keys: ``gt_fg_mask``.

    Args:
        imdecode_backend (str): Backend of :func:`mmcv.imfrombytes`.
            Defaults to 'cv2'.
        backend_args (dict, optional): Arguments of the file backend
            (:func:`mmengine.fileio.get`). Defaults to None (local files).

    Example:
        >>> pipeline = [
        ...     dict(type='LoadImageFromFile'),
        ...     dict(type='LoadForegroundMask'),
        ...     dict(type='PackClsInputs'),
        ... ]
    """

    def __init__(self,
                 imdecode_backend: str = 'cv2',
                 backend_args: Optional[dict] = None) -> None:
        self.imdecode_backend = imdecode_backend
        self.backend_args = None if backend_args is None else backend_args.copy()

    def transform(self, results: dict) -> dict:
        if 'mask_path' not in results:
            raise KeyError("LoadForegroundMask needs 'mask_path' in the sample, "
                           f'got keys {sorted(results)}')
        path = results['mask_path']
        try:
            content = fileio.get(path, backend_args=self.backend_args)
        except FileNotFoundError as e:
            raise DataNotFoundError(f'foreground mask file not found: {path}') from e
        try:
            mask = mmcv.imfrombytes(content, flag='grayscale',
                                    backend=self.imdecode_backend)
        except Exception as e:  # cv2 raises on empty buffers, pillow on bad data
            raise CorruptImageError(
                f'cannot decode foreground mask {path}: {e}') from e
        # cv2 returns None (no exception) for bytes that are not an image.
        if mask is None or mask.size == 0:
            raise CorruptImageError(
                f'cannot decode foreground mask {path}: not a readable image file')
        if mask.ndim == 3:  # pillow may keep a singleton channel
            mask = mask[..., 0]
        results['gt_fg_mask'] = np.ascontiguousarray(mask > 0)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}('
                f"imdecode_backend='{self.imdecode_backend}', "
                f'backend_args={self.backend_args})')
