"""Mixed precision for attacks: the model's forward under the training step's autocast.

On a GPU an attack step in float32 costs up to twice one under the bf16 / fp16 autocast
the training step already uses. The victim runs the *model* under
``torch.autocast`` while the perturbation, the normalisation and the loss reduction
stay float32: the gradient w.r.t. the float32 pixels comes back float32, so budgets,
projections, clipping and the NaN / inf checks are as exact as without autocast (an
fp16 overflow shows as a non-finite gradient and that step is skipped).
"""
import contextlib
from typing import Optional, Union

import torch

from mmgat.utils.errors import ConfigError

#: Names a config may give the autocast dtype.
AUTOCAST_DTYPES = {'bf16': torch.bfloat16, 'bfloat16': torch.bfloat16,
                   'fp16': torch.float16, 'float16': torch.float16, 'half': torch.float16}


def check_autocast(value: Union[None, str, torch.dtype]) -> Optional[torch.dtype]:
    """``None`` (float32), or the dtype of ``'bf16'`` / ``'fp16'`` (or a torch dtype)."""
    if value is None or value is False:
        return None
    if isinstance(value, torch.dtype) and value in AUTOCAST_DTYPES.values():
        return value
    if isinstance(value, str) and value.lower() in AUTOCAST_DTYPES:
        return AUTOCAST_DTYPES[value.lower()]
    raise ConfigError(f'autocast must be None or one of {sorted(AUTOCAST_DTYPES)}, got '
                      f'{value!r}')


def autocast(device: torch.device, dtype: Optional[torch.dtype]):
    """``torch.autocast`` on ``device``'s type with ``dtype`` (a no-op for None)."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=dtype)


def amp_dtype_of(optim_wrapper) -> Optional[torch.dtype]:
    """The autocast dtype of an mmengine ``AmpOptimWrapper`` (fp16 unless it names
    another), None for any other optimizer wrapper."""
    try:
        from mmengine.optim import AmpOptimWrapper
    except ImportError:  # pragma: no cover
        return None
    if not isinstance(optim_wrapper, AmpOptimWrapper):
        return None
    return check_autocast(getattr(optim_wrapper, 'cast_dtype', None)) or torch.float16


__all__ = ['check_autocast', 'autocast', 'amp_dtype_of', 'AUTOCAST_DTYPES']
