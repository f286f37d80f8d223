"""Where a perturbation may go: mask modes shared by the pixel attacks.

Localized adversarial training (Rothberg et al., arXiv 1909.04779) perturbs only the
background of an image. An attack config names the mode (``mask=None`` or
``mask='background'``); :func:`perturbation_region` turns it into an ``N x 1 x H x W``
float mask (1 = may change) that the attack multiplies its perturbation with at every
step, so masked pixels stay bit-identical to the input.
"""
from typing import Optional

import torch

from mmgat.utils.errors import ConfigError

#: Mask modes an attack accepts.
MASK_MODES = (None, 'background')


def check_mask_mode(mode: Optional[str]) -> Optional[str]:
    """Return ``mode`` if it is a known mask mode, else raise :class:`ConfigError`."""
    if mode not in MASK_MODES:
        raise ConfigError(f'unknown mask mode {mode!r}; expected one of {MASK_MODES}')
    return mode


def perturbation_region(victim, data_samples: list, pixels: torch.Tensor,
                        mode: Optional[str]) -> torch.Tensor:
    """The ``N x 1 x H x W`` float mask of pixels an attack may change.

    Always excludes the batch padding (it is cut off when the pixels are written
    back); ``mode='background'`` further restricts it to the victim's background.

    Args:
        victim: The victim (see :class:`mmgat.victims.BaseVictim`).
        data_samples (list): The samples returned by ``victim.to_pixels``.
        pixels (Tensor): The ``N x C x H x W`` pixels to perturb.
        mode (str, optional): A mask mode from :data:`MASK_MODES`.
    """
    check_mask_mode(mode)
    shape, device = pixels.shape, pixels.device
    region = victim.valid_mask(data_samples, shape, device=device)
    if mode == 'background':
        region = region * victim.background_mask(data_samples, shape, device=device)
    return region.to(dtype=pixels.dtype)

