"""Add a fixed universal perturbation (``tools/compute_universal.py``) to test images."""
import os.path as osp
import pickle
import zipfile

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmgat.registry import TRANSFORMS
from mmgat.utils.checks import is_real
from mmgat.utils.compat import safe_torch_load
from mmgat.utils.errors import ConfigError, DataNotFoundError, MmgatError

#: How the perturbation is fitted to an image of another size.
FITS = ('crop', 'resize', 'tile')
CHANNEL_ORDERS = ('rgb', 'bgr')


def load_universal_perturbation(path: str) -> np.ndarray:
    """Read a perturbation file and return it as a float32 ``H x W x C`` BGR array.

    The file is what ``tools/compute_universal.py`` writes: a dict with
    ``'perturbation'`` (a ``1 x C x H x W`` or ``C x H x W`` tensor in 0-255 pixel
    units) and ``'channel_order'`` (``'rgb'`` or ``'bgr'``, that of the model it was
    computed for). It is loaded with ``weights_only=True`` (:func:`safe_torch_load`).

    Raises:
        DataNotFoundError: no file at ``path``.
        ConfigError: the file is not such a perturbation (the message names it).
    """
    if not osp.isfile(path):
        raise DataNotFoundError(f"universal perturbation file '{path}' does not exist")
    if not zipfile.is_zipfile(path):  # torch.save writes zip archives
        raise ConfigError(f"'{path}' is not a universal perturbation file (not a "
                          'torch.save archive; write one with tools/compute_universal.py)')
    try:
        content = safe_torch_load(path, map_location='cpu')
    except MmgatError:
        raise
    except (pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, EOFError,
            ValueError, OSError) as e:
        raise ConfigError(f"cannot read universal perturbation file '{path}': "
                          f'{str(e).strip().splitlines()[-1] if str(e).strip() else e!r}'
                          ) from None
    if not isinstance(content, dict) or 'perturbation' not in content:
        raise ConfigError(f"'{path}' is not a universal perturbation file: expected a "
                          "dict with 'perturbation' (written by tools/"
                          'compute_universal.py)')
    pert = content['perturbation']
    if isinstance(pert, torch.Tensor) and pert.dim() == 4 and pert.shape[0] == 1:
        pert = pert[0]
    if not isinstance(pert, torch.Tensor) or pert.dim() != 3 or \
            not pert.is_floating_point():
        raise ConfigError(f"'{path}': 'perturbation' must be a float 1 x C x H x W "
                          f'tensor, got {getattr(pert, "shape", type(pert).__name__)}')
    if not bool(torch.isfinite(pert).all()):
        raise ConfigError(f"'{path}': the perturbation holds NaN / inf values")
    order = content.get('channel_order', 'rgb')
    if order not in CHANNEL_ORDERS:
        raise ConfigError(f"'{path}': unknown channel_order {order!r}; expected one of "
                          f'{CHANNEL_ORDERS}')
    pert = pert.detach().float()
    # Pipelines hold BGR images (mmcv's LoadImageFromFile); a reversal is its own
    # inverse, so an RGB perturbation of 3 channels is simply flipped.
    if order == 'rgb' and pert.shape[0] == 3:
        pert = pert.flip(0)
    return np.ascontiguousarray(pert.permute(1, 2, 0).numpy())


def fit_to_image(pert: np.ndarray, height: int, width: int, fit: str) -> np.ndarray:
    """Bring an ``h x w x C`` perturbation to ``height x width``.

    ``'crop'``: top-left aligned (as in the padded batches the perturbation was
    computed on): cropped, or zero-padded at the bottom / right. ``'resize'``:
    bilinear resize (keeps an L-inf budget). ``'tile'``: repeated periodically, then
    cropped.
    """
    h, w = pert.shape[:2]
    if (h, w) == (height, width):
        return pert
    if fit == 'resize':
        out = cv2.resize(pert, (width, height), interpolation=cv2.INTER_LINEAR)
        return out.reshape(height, width, pert.shape[2])  # cv2 drops a 1-channel axis
    if fit == 'tile':
        reps = (-(-height // h), -(-width // w), 1)
        return np.tile(pert, reps)[:height, :width]
    out = np.zeros((height, width, pert.shape[2]), dtype=pert.dtype)
    hh, ww = min(h, height), min(w, width)
    out[:hh, :ww] = pert[:hh, :ww]
    return out


@TRANSFORMS.register_module()
class ApplyUniversalPerturbation(BaseTransform):
    """Add a fixed universal perturbation to ``results['img']``.

    Evaluates a model against a universal perturbation computed beforehand by
    ``tools/compute_universal.py`` (stochastic PGD over a dataset): the perturbation
    file is loaded once (with ``weights_only=True``), converted from the model's
    channel order (stored in the file) to the pipeline's BGR, fitted to each image's
    size, scaled by ``strength`` and added; the result is clipped to [0, 255].

    Put it after ``LoadImageFromFile`` (and after any resize, so that it meets the
    image at network resolution, where it was computed) and before the packing
    transform. It works in mmdet, mmseg and mmgat pipelines alike.

    Required keys: ``img`` (BGR ``H x W x C``, uint8 or float). Modified keys: ``img``.

    Args:
        path (str): The perturbation file.
        strength (float): Factor on the perturbation (0 gives the clean image; 2
            doubles the budget). Defaults to 1.
        fit (str): For images of another size than the perturbation: ``'crop'``
            (default; top-left aligned, cropped or zero-padded, matching how it was
            computed on padded batches), ``'resize'`` (bilinear) or ``'tile'``.
        round_to_uint8 (bool): Round the result to uint8 (as if the perturbed image
            had been saved as PNG). Defaults to False: float32, no rounding.

    Example:
        >>> test_pipeline = [
        ...     dict(type='LoadImageFromFile'),
        ...     dict(type='mmgat.ApplyUniversalPerturbation',
        ...          path='work_dirs/universal.pth', strength=1.0),
        ...     dict(type='mmgat.LoadForegroundMask'),
        ...     dict(type='mmgat.PackClsInputs'),
        ... ]
    """

    def __init__(self,
                 path: str,
                 strength: float = 1.0,
                 fit: str = 'crop',
                 round_to_uint8: bool = False) -> None:
        if not isinstance(path, str) or not path:
            raise ConfigError(f'path must be a file name, got {path!r}')
        if not is_real(strength) or not np.isfinite(strength):
            raise ConfigError(f'strength must be a finite number, got {strength!r}')
        if fit not in FITS:
            raise ConfigError(f'unknown fit {fit!r}; expected one of {FITS}')
        self.path = path
        self.strength = float(strength)
        self.fit = fit
        self.round_to_uint8 = bool(round_to_uint8)
        # Loaded here, once: a bad file fails when the pipeline is built, not
        # somewhere inside a dataloader worker.
        self.perturbation = load_universal_perturbation(path)
        self._fitted = {}  # (h, w) -> fitted perturbation, to skip repeated resizing

    def _for_size(self, height: int, width: int) -> np.ndarray:
        key = (height, width)
        if key not in self._fitted:
            pert = fit_to_image(self.perturbation, height, width, self.fit)
            self._fitted[key] = (pert * self.strength).astype(np.float32)
        return self._fitted[key]

    def transform(self, results: dict) -> dict:
        if 'img' not in results:
            raise KeyError('ApplyUniversalPerturbation needs "img" in the sample (put it '
                           f'after LoadImageFromFile), got keys {sorted(results)}')
        img = results['img']
        if not isinstance(img, np.ndarray) or img.ndim not in (2, 3):
            raise TypeError('ApplyUniversalPerturbation expects an H x W (x C) numpy '
                            f'image, got {type(img).__name__}')
        squeeze = img.ndim == 2
        image = img[..., None] if squeeze else img
        channels = self.perturbation.shape[2]
        if image.shape[2] != channels:
            raise ConfigError(f"the universal perturbation '{self.path}' has {channels} "
                              f'channel(s) but the image has {image.shape[2]}')
        pert = self._for_size(image.shape[0], image.shape[1])
        out = np.clip(image.astype(np.float32) + pert, 0, 255)
        if self.round_to_uint8:
            out = np.round(out).astype(np.uint8)
        results['img'] = out[..., 0] if squeeze else out
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(path={self.path!r}, strength={self.strength}, '
                f'fit={self.fit!r}, round_to_uint8={self.round_to_uint8})')
