"""Projected gradient descent (Madry et al. 2018) and FGSM, in pixel space."""
from typing import Callable, Optional

import torch

from mmgat.registry import ATTACKS
from .lp_budget import check_alpha
from .pixel_attack import IterativePixelAttack


@ATTACKS.register_module()
class PGD(IterativePixelAttack):
    """Projected gradient ascent on the victim's loss, L-inf or L2 bounded.

    Each step moves the perturbation by ``alpha * 255`` along the sign of the gradient
    (L-inf) or the L2-normalised gradient (L2), projects it onto the eps ball and
    keeps ``pixels + delta`` in [0, 255]. With ``mask='background'`` the perturbation
    (random start included) is multiplied by the victim's background mask at every
    step, so the foreground stays bit-identical to the input (localized adversarial
    training, Rothberg et al.). The batch padding is never perturbed.

    A step whose gradient is NaN / inf for an image is skipped for that image, with a
    warning; NaN never reaches the pixels.

    Args:
        eps (float): Budget on the 0-1 scale (``eps * 255`` in pixel units; for L2 the
            bound is on each image's L2 norm, e.g. 0.5 -> 127.5). Defaults to 8/255.
        alpha (float): Step size on the 0-1 scale. Defaults to 2/255.
        steps (int): Number of steps. Defaults to 10.
        norm (str): ``'linf'`` or ``'l2'``. Defaults to ``'linf'``.
        random_start (bool): Start from a random point of the eps ball.
            Defaults to True.
        mask (str, optional): ``None`` or ``'background'``. Defaults to None.
        seed (int): Base seed of the random start, combined with the rank and the
            iteration. Defaults to 0.

    Example:
        >>> attack = dict(type='mmgat.PGD', eps=8 / 255, alpha=2 / 255, steps=10)
        >>> attack = ATTACKS.build(attack)
        >>> pixels, samples, info = victim.to_pixels(data_batch)
        >>> adv = attack(victim, pixels, samples, iteration=runner.iter)
    """

    families = ('pgd', )

    def __init__(self,
                 eps: float = 8 / 255,
                 alpha: float = 2 / 255,
                 steps: int = 10,
                 norm: str = 'linf',
                 random_start: bool = True,
                 mask: Optional[str] = None,
                 seed: int = 0) -> None:
        super().__init__(eps=eps, norm=norm, steps=steps, random_start=random_start,
                         mask=mask, seed=seed)
        self.alpha = check_alpha(alpha)

    def perturb(self, victim, pixels: torch.Tensor, data_samples: list, *,
                generator: torch.Generator, iteration: int) -> torch.Tensor:
        return self._run(victim, pixels, data_samples, generator, heap_size=1,
                         loss_fn=lambda adv: victim.loss(adv, data_samples))

    # The loop is shared with SharedPGD: one perturbation per heap of ``heap_size``
    # consecutive images. With heap_size=1 every operation is the plain PGD one, so
    # SharedPGD(heap_size=1) reproduces PGD bit for bit.
    def _run(self, victim, pixels: torch.Tensor, data_samples: list,
             generator: torch.Generator, heap_size: int,
             loss_fn: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        groups = pixels.shape[0] // heap_size
        region = self.region(victim, data_samples, pixels)
        shape = (groups, *pixels.shape[1:])
        if self.random_start:
            delta = self.random_delta(shape, generator, pixels)
        else:
            delta = pixels.new_zeros(shape)
        delta = self._settle(delta, pixels, region, heap_size)
        delta = self.ascend(
            delta, lambda d: loss_fn(self._apply(pixels, d, region, heap_size)),
            self.alpha * 255,
            lambda d: self._settle(self.project(d), pixels, region, heap_size))
        with torch.no_grad():
            return self._apply(pixels, delta, region, heap_size)

    @staticmethod
    def _expand(delta: torch.Tensor, heap_size: int) -> torch.Tensor:
        return delta if heap_size == 1 else delta.repeat_interleave(heap_size, dim=0)

    def _apply(self, pixels: torch.Tensor, delta: torch.Tensor, region: torch.Tensor,
               heap_size: int) -> torch.Tensor:
        """The adversarial pixels for a perturbation (differentiable w.r.t. delta)."""
        return self.perturbed(pixels, self._expand(delta, heap_size), region)

    def _settle(self, delta: torch.Tensor, pixels: torch.Tensor, region: torch.Tensor,
                heap_size: int) -> torch.Tensor:
        """Keep an unshared perturbation inside the region and [0, 255]
        (:meth:`settled`). A shared perturbation cannot be clipped for every member
        at once, so for heaps only the adversarial images are clipped."""
        if heap_size != 1:
            return delta
        return self.settled(delta, pixels, region)


@ATTACKS.register_module()
class FGSM(PGD):
    """Fast gradient sign method: one step of size eps, no random start.

    Args:
        eps (float): Budget on the 0-1 scale. Defaults to 8/255.
        norm (str): ``'linf'`` (FGSM) or ``'l2'`` (fast gradient method).
        mask (str, optional): ``None`` or ``'background'``.
        seed (int): Unused randomness seed (kept for a uniform interface).

    Example:
        >>> attack = dict(type='mmgat.FGSM', eps=4 / 255, mask='background')
    """

    def __init__(self,
                 eps: float = 8 / 255,
                 norm: str = 'linf',
                 mask: Optional[str] = None,
                 seed: int = 0) -> None:
        # eps=0 (a no-op baseline) still needs a positive step size to validate.
        alpha = eps if isinstance(eps, (int, float)) and eps > 0 else 1 / 255
        super().__init__(eps=eps, alpha=alpha, steps=1, norm=norm,
                         random_start=False, mask=mask, seed=seed)
