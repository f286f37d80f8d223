"""stAdv-style spatial attack (Xiao et al., ICLR 2018, arXiv 1801.02612).

Instead of changing pixel values, the attack moves them: every output pixel is read,
by bilinear interpolation, from a slightly displaced position of the input. The
displacement field (the *flow*) is small and smooth, so shapes bend a little while
colours and textures stay.
"""
from typing import Optional

import torch
import torch.nn.functional as F

from mmgat.registry import ATTACKS
from mmgat.utils.checks import check_int, check_number
from .pixel_attack import IterativePixelAttack


def flow_warp(pixels: torch.Tensor, flow: torch.Tensor,
              sizes: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Resample ``pixels`` at ``(x + flow_x, y + flow_y)`` bilinearly.

    The same as ``F.grid_sample(mode='bilinear', padding_mode='border',
    align_corners=True)`` with the grid in pixel units, but written with ``gather``
    so that integer displacements are exact: a zero flow returns the input bit for
    bit and a constant integer flow is an exact shift (border pixels repeated).
    It is differentiable w.r.t. ``flow``, and only the flow: the input pixels are
    constants for the attack.

    Args:
        pixels (Tensor): ``N x C x H x W``.
        flow (Tensor): ``N x 2 x H x W`` displacements in pixels, (x, y) order.
        sizes (Tensor, optional): ``N x 2`` long tensor of each image's valid
            ``(h, w)`` inside the padded batch; sampling positions are clamped to
            the valid image (border padding of the image, not of the batch).
            Defaults to the whole ``H x W``.
    """
    num, channels, height, width = pixels.shape
    if sizes is None:
        sizes = torch.tensor([[height, width]] * num, device=pixels.device)
    sizes = sizes.to(device=pixels.device, dtype=pixels.dtype)
    x_max = (sizes[:, 1] - 1).view(-1, 1, 1)
    y_max = (sizes[:, 0] - 1).view(-1, 1, 1)
    xs = torch.arange(width, device=pixels.device, dtype=pixels.dtype).view(1, 1, -1)
    ys = torch.arange(height, device=pixels.device, dtype=pixels.dtype).view(1, -1, 1)
    x = torch.minimum(torch.maximum(xs + flow[:, 0], x_max.new_zeros(())), x_max)
    y = torch.minimum(torch.maximum(ys + flow[:, 1], y_max.new_zeros(())), y_max)
    x0, y0 = x.detach().floor(), y.detach().floor()
    wx, wy = (x - x0).unsqueeze(1), (y - y0).unsqueeze(1)
    x1, y1 = torch.minimum(x0 + 1, x_max), torch.minimum(y0 + 1, y_max)
    flat = pixels.reshape(num, channels, height * width)

    def gather(yy, xx):
        index = (yy * width + xx).long().view(num, 1, -1).expand(-1, channels, -1)
        return flat.gather(2, index).view(num, channels, height, width)

    top = (1 - wx) * gather(y0, x0) + wx * gather(y0, x1)
    bottom = (1 - wx) * gather(y1, x0) + wx * gather(y1, x1)
    return (1 - wy) * top + wy * bottom


@ATTACKS.register_module()
class SpatialFlow(IterativePixelAttack):
    """Smooth flow-field (spatial transformation) attack, after stAdv (Xiao et al. 2018).

    The adversarial image is the input resampled along a per-pixel flow field
    ``N x 2 x H x W`` (displacements in pixels, bilinear interpolation, border
    padding at each image's own border; see :func:`flow_warp`).

    Smoothness comes from two places:

    - the flow is parametrised on a coarse lattice of control points ``stride``
      pixels apart and upsampled bilinearly (``align_corners=True``) to the image;
      ``stride=1`` is stAdv's free per-pixel flow;
    - stAdv's flow loss (total variation) ``tau * L_flow`` is subtracted from the
      victim's loss, where ``L_flow`` is, per image, the *mean* over control points
      of ``sqrt(|du|^2 + |dv|^2 + 1e-8)`` for their right and lower neighbours,
      averaged over the batch (means, so that ``tau`` depends neither on the image
      size nor on the batch size: the victims' losses are batch means too).
      stAdv's ``tau=0.05`` is kept; on the DigitScenes baselines it halves the mean
      displacement and the TV of the flow, and costs the attack little on the
      detector (loss 1.66 -> 1.63) and more on the confident classifier
      (7.2 -> 4.3), where the task-loss gradient is small; ``tau=0`` turns it off.

    Every displacement component is bounded by ``eps`` pixels (L-inf): the control
    points are clipped to ``[-eps, eps]`` after every step and bilinear upsampling
    cannot leave that range. The control points are optimised by signed-gradient
    ascent (PGD) with step ``alpha`` pixels.

    ``mask='background'`` blends the warped image in only on the victim's
    background, so foreground pixels stay bit-identical (background pixels next to
    an object may still read a displaced object pixel). The batch padding never
    changes.

    Default budget: ``eps=1.0`` pixel. DigitScenes digits are 16-48 px high in 128 px
    scenes and fill most of a 32 px classification crop, so one pixel is 2-6 % of a
    digit's height: the strokes wobble visibly but the digit stays readable. The
    ``stride=4`` lattice (33 x 33 control points on 128 px, 9 x 9 on 32 px) makes
    the warp locally smooth at the scale of a stroke.

    Args:
        eps (float): Bound of each displacement component, in **pixels** (not on
            the 0-1 colour scale). Defaults to 1.0.
        alpha (float, optional): Step size in pixels. Defaults to ``eps / 4``.
        steps (int): Number of steps. Defaults to 10.
        stride (int): Pixels between flow control points (>= 1). Defaults to 4.
        tau (float): Weight of the flow total-variation loss (>= 0). Defaults to
            0.05 (stAdv's value).
        random_start (bool): Start from control displacements uniform in
            ``[-eps, eps]``. Defaults to True.
        mask (str, optional): ``None`` or ``'background'``. Defaults to None.
        seed (int): Base seed of the random start. Defaults to 0.

    Example:
        >>> # a robustness-suite entry (configs/_base_/attacks/spatial-flow.py)
        >>> dict(name='spatial', kind='attack', num_images=48,
        ...      attack=dict(type='mmgat.SpatialFlow', eps=1.0, steps=10, stride=4,
        ...                  tau=0.05))
    """

    families = ('spatial', )

    def __init__(self,
                 eps: float = 1.0,
                 alpha: Optional[float] = None,
                 stride: int = 4,
                 tau: float = 0.05,
                 **options) -> None:
        eps = check_number('eps (flow bound in pixels)', eps, 0.0)
        super().__init__(eps=eps, norm='linf', **options)
        alpha = self.quarter_budget_step(alpha, fallback=0.25)
        self.alpha = check_number('alpha (step in pixels)', alpha, 0.0, inclusive=False)
        self.stride = check_int('stride (pixels between flow control points)', stride,
                                low=1)
        self.tau = check_number('tau', tau, 0.0)

    @property
    def eps_pixels(self) -> float:
        """The displacement bound in pixels (``eps`` is already in pixels)."""
        return self.eps

    def lattice_shape(self, height: int, width: int):
        """Control points ``(h, w)`` covering an ``height x width`` batch."""
        def points(n):
            return -(-(n - 1) // self.stride) + 1 if n > 1 else 1
        return points(height), points(width)

    def upsample(self, control: torch.Tensor, size) -> torch.Tensor:
        """Control displacements ``N x 2 x h x w`` -> the flow ``N x 2 x H x W``."""
        if tuple(control.shape[-2:]) == tuple(size):
            return control
        return F.interpolate(control, size=size, mode='bilinear', align_corners=True)

    @staticmethod
    def flow_loss(control: torch.Tensor) -> torch.Tensor:
        """stAdv's smoothness loss per image ``[N]`` (mean over control points)."""
        du = F.pad(control.diff(dim=3), (0, 1)).pow(2).sum(dim=1)
        dv = F.pad(control.diff(dim=2), (0, 0, 0, 1)).pow(2).sum(dim=1)
        return (du + dv + 1e-8).sqrt().flatten(1).mean(dim=1)

    @staticmethod
    def _sizes(victim, data_samples: list, pixels: torch.Tensor) -> torch.Tensor:
        shape = pixels.shape
        sizes = [victim.valid_shape(s, shape) for s in data_samples]
        return torch.tensor(sizes, dtype=torch.long, device=pixels.device)

    def perturb(self, victim, pixels: torch.Tensor, data_samples: list, *,
                generator: torch.Generator, iteration: int) -> torch.Tensor:
        region = self.region(victim, data_samples, pixels)
        sizes = self._sizes(victim, data_samples, pixels)
        size = tuple(pixels.shape[-2:])
        shape = (pixels.shape[0], 2, *self.lattice_shape(*size))
        control = self.uniform_start(shape, self.eps, generator, pixels)

        def adversarial(control):
            warped = flow_warp(pixels, self.upsample(control, size), sizes)
            # The region is a 0/1 mask: select, so that unwarped pixels stay exact.
            return torch.where(region > 0, warped, pixels).clamp(0, 255)

        control = self.ascend_penalized(control, adversarial, victim, data_samples,
                                        self.tau, self.flow_loss)
        self._last_flow = self.upsample(control, size)  # for inspection
        with torch.no_grad():
            return adversarial(control)
