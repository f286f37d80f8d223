"""ReColorAdv-style colour attack (Laidlaw & Feizi, NeurIPS 2019, arXiv 1906.00001).

The adversarial image is ``f(x)`` for a smooth, bounded function of colour
``f: [0, 1]^3 -> [0, 1]^3`` that is applied to every pixel of an image: pixels of the
same colour stay the same colour, edges and textures are kept, only the palette moves.
"""
from typing import Optional

import torch
import torch.nn.functional as F

from mmgat.registry import ATTACKS
from mmgat.utils.checks import check_int, check_number
from mmgat.utils.errors import ConfigError
from .lp_budget import check_alpha
from .pixel_attack import IterativePixelAttack


@ATTACKS.register_module()
class ReColor(IterativePixelAttack):
    """Bounded smooth colour-function attack (ReColorAdv, Laidlaw & Feizi 2019).

    Each image gets its own colour function ``f(c) = c + g(c)``: the offset ``g`` is a
    coarse ``grid_size^3`` lattice of RGB offsets over the RGB cube, trilinearly
    interpolated (``F.grid_sample`` on a 5-D volume, ``align_corners=True``, so the
    lattice corners sit exactly on the cube's corners). Each lattice offset is
    bounded by ``eps`` per channel (L-inf, 0-1 scale); an interpolated offset is a
    convex combination of lattice offsets, so every pixel channel moves by at most
    ``eps * 255`` (the final clip to [0, 255] only shortens the move).

    The lattice is found by signed-gradient ascent (PGD, ``steps`` steps of
    ``alpha``) on ``victim.loss(f(x)) - smoothness * R(g)``, where ``R`` is, for each
    image, the mean over pairs of neighbouring lattice cells of the L2 norm of the
    difference of their offsets (ReColorAdv's smoothness term, 0-1 scale), averaged
    over the batch like the victims' losses. With a signed gradient the penalty
    mostly decides the cells no pixel colour falls near (keeping ``f`` smooth
    there); a small weight is enough.

    Colour functions act on RGB: when the model reads BGR (its preprocessor does not
    convert, ``victim.channel_order(3)`` is ``'bgr'``) the channels are flipped before
    and after, so a BGR and an RGB model see the same recolouring. With
    ``mask='background'`` the recoloured image is blended in only on the victim's
    background (the foreground stays bit-identical); the batch padding never
    changes.

    Args:
        eps (float): Bound of every colour offset, 0-1 scale per channel.
            Defaults to 0.06 (15.3 grey levels).
        alpha (float, optional): Step size on the 0-1 scale. Defaults to
            ``eps / 4``.
        steps (int): Number of PGD steps. Defaults to 10.
        grid_size (int): Lattice points per colour axis (>= 2); 8 gives cells of
            about 36 grey levels. Defaults to 8.
        smoothness (float): Weight of the smoothness penalty (>= 0; 0 disables
            it). Defaults to 0.01.
        random_start (bool): Start from offsets uniform in ``[-eps, eps]``.
            Defaults to True.
        mask (str, optional): ``None`` or ``'background'``. Defaults to None.
        seed (int): Base seed of the random start. Defaults to 0.

    Example:
        >>> attack = dict(type='mmgat.ReColor', eps=0.06, steps=10, grid_size=8,
        ...               smoothness=0.01)
        >>> attack = ATTACKS.build(attack)
        >>> pixels, samples, info = victim.to_pixels(data_batch)
        >>> adv = attack(victim, pixels, samples, iteration=batch_idx)
    """

    families = ('recolor', )

    def __init__(self,
                 eps: float = 0.06,
                 alpha: Optional[float] = None,
                 grid_size: int = 8,
                 smoothness: float = 0.01,
                 **options) -> None:
        super().__init__(eps=eps, norm='linf', **options)
        alpha = self.quarter_budget_step(alpha, fallback=1 / 255)
        self.alpha = check_alpha(alpha)
        self.grid_size = check_int('grid_size (lattice points per colour axis)',
                                   grid_size, low=2)
        self.smoothness = check_number('smoothness', smoothness, 0.0)

    # ------------------------------------------------------------------ colour map
    @staticmethod
    def colour_offsets(rgb: torch.Tensor, lattice: torch.Tensor) -> torch.Tensor:
        """Trilinearly interpolated offsets ``g(c)`` of every pixel (0-1 scale).

        Args:
            rgb (Tensor): ``N x 3 x H x W`` RGB pixels in [0, 255].
            lattice (Tensor): ``N x 3 x G x G x G`` offsets; the lattice axes are
                (B, G, R) (grid_sample's (D, H, W)), the first dim the offset of
                (R, G, B).

        Returns:
            Tensor: ``N x 3 x H x W`` offsets (differentiable w.r.t. ``lattice``).
        """
        # grid_sample's last coordinate dim is (x, y, z) = (W, H, D) = (R, G, B).
        coords = (rgb.permute(0, 2, 3, 1) * (2 / 255) - 1).unsqueeze(1)
        out = F.grid_sample(lattice, coords, mode='bilinear', padding_mode='border',
                            align_corners=True)
        return out.squeeze(2)

    def recolour(self, rgb: torch.Tensor, lattice: torch.Tensor) -> torch.Tensor:
        """``f(x) = x + 255 * g(x)`` for RGB pixels in [0, 255] (not clipped)."""
        return rgb + 255 * self.colour_offsets(rgb, lattice)

    def smoothness_penalty(self, lattice: torch.Tensor) -> torch.Tensor:
        """Per-image mean L2 norm of offset differences of neighbouring cells ``[N]``."""
        terms = []
        for dim in (2, 3, 4):
            diff = lattice.diff(dim=dim)
            norms = (diff.pow(2).sum(dim=1) + 1e-12).sqrt()  # differentiable at 0
            terms.append(norms.flatten(1))
        return torch.cat(terms, dim=1).mean(dim=1)

    # ------------------------------------------------------------------ attack
    def perturb(self, victim, pixels: torch.Tensor, data_samples: list, *,
                generator: torch.Generator, iteration: int) -> torch.Tensor:
        channels = pixels.shape[1]
        if channels != 3:
            raise ConfigError(f'ReColor needs 3-channel colour images, got {channels} '
                              'channel(s)')
        is_rgb = victim.channel_order(channels) == 'rgb'  
        rgb = pixels if is_rgb else pixels.flip(1)
        region = self.region(victim, data_samples, pixels)

        size = self.grid_size
        shape = (pixels.shape[0], 3, size, size, size)
        lattice = self.uniform_start(shape, self.eps, generator, pixels)

        def adversarial(lattice):
            new = self.recolour(rgb, lattice)
            new = new if is_rgb else new.flip(1)
            return (pixels + (new - pixels) * region).clamp(0, 255)

        lattice = self.ascend_penalized(lattice, adversarial, victim, data_samples,
                                        self.smoothness, self.smoothness_penalty)
        self._last_lattice = lattice  # kept for inspection (tests)
        with torch.no_grad():
            return adversarial(lattice)
