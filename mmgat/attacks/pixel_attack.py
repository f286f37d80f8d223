"""Attacks that return pixels: the L-p budget of the papers and where pixels may change."""
from typing import Callable, Optional

import torch

from mmgat.utils.checks import check_steps
from .ascent import gradient_ascent
from .base_attack import BaseAttack
from .lp_budget import (check_eps, check_norm, draw, lp_direction, lp_project,
                        lp_random_start)
from .masks import check_mask_mode, perturbation_region


class PixelAttack(BaseAttack):
    """Base of the attacks that return adversarial pixels directly.

    Budgets are given on the 0-1 scale of the papers (``eps=8/255``) and applied to
    the 0-255 pixels of the victim (:attr:`eps_pixels`); the geometry (projection,
    steepest-ascent direction, random start) is that of :mod:`mmgat.attacks.lp_budget`.
    The result is detached and clipped to [0, 255].

    Iterative attacks derive from :class:`IterativePixelAttack` and run
    :meth:`ascend`.

    Args:
        eps (float): Budget on the 0-1 scale; pixels are 0-255, so the bound in
            pixel units is ``eps * 255`` (L-inf: per pixel; L2: per image, e.g.
            ``eps=0.5`` allows an L2 norm of 127.5 in 0-255 units, i.e. 0.5 for the
            image on the 0-1 scale).
        norm (str): ``'linf'`` or ``'l2'``.
        mask (str, optional): ``None`` (whole image) or ``'background'``
            (see :mod:`mmgat.attacks.masks`).
        seed (int): Base seed of the random start.
    """

    def __init__(self,
                 eps: float = 8 / 255,
                 norm: str = 'linf',
                 mask: Optional[str] = None,
                 seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.eps = check_eps(eps)
        self.norm = check_norm(norm)
        self.mask = check_mask_mode(mask)

    def finish(self, result: torch.Tensor) -> torch.Tensor:
        return result.detach().clamp(0, 255)

    def region(self, victim, data_samples: list, pixels: torch.Tensor) -> torch.Tensor:
        """``N x 1 x H x W`` mask of the pixels this attack may change."""
        return perturbation_region(victim, data_samples, pixels, self.mask)

    # ----------------------------------------------------------- budget geometry
    @property
    def eps_pixels(self) -> float:
        """The budget in 0-255 pixel units."""
        return self.eps * 255

    def random_delta(self, shape, generator: torch.Generator,
                     like: torch.Tensor) -> torch.Tensor:
        """A random start inside the budget (see :func:`lp_random_start`)."""
        return lp_random_start(shape, self.eps_pixels, self.norm, generator, like)

    def project(self, delta: torch.Tensor) -> torch.Tensor:
        """Project each perturbation onto the eps ball."""
        return lp_project(delta, self.eps_pixels, self.norm)

    def direction(self, grad: torch.Tensor) -> torch.Tensor:
        """Steepest-ascent direction of unit size: sign (L-inf) or L2-normalised."""
        return lp_direction(grad, self.norm)

    @staticmethod
    def perturbed(pixels: torch.Tensor, delta: torch.Tensor,
                  region: torch.Tensor) -> torch.Tensor:
        """The adversarial pixels of one perturbation per image (differentiable
        w.r.t. ``delta``): ``pixels + delta`` inside the region, clipped to [0, 255]."""
        return (pixels + delta * region).clamp(0, 255)

    @classmethod
    def settled(cls, delta: torch.Tensor, pixels: torch.Tensor,
                region: torch.Tensor) -> torch.Tensor:
        """The perturbation kept inside the region and [0, 255]. Clipping delta
        itself (not only the adversarial image) keeps a saturated pixel free to move
        back."""
        return cls.perturbed(pixels, delta, region) - pixels

    # ----------------------------------------------------------- optimisation
    def uniform_start(self, shape, bound: float, generator: torch.Generator,
                      like: torch.Tensor) -> torch.Tensor:
        """Uniform in ``[-bound, bound]`` if ``self.random_start``, zeros otherwise."""
        if self.random_start:
            return (draw(shape, generator, like) * 2 - 1) * bound
        return like.new_zeros(shape)

    def ascend(self, params: torch.Tensor,
               objective: Callable[[torch.Tensor], torch.Tensor], step_size: float,
               project: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """``self.steps`` steps of projected ascent (:func:`gradient_ascent`): each moves
        ``params`` by ``step_size`` along :meth:`direction` of the gradient, then
        ``project`` maps it back into the feasible set."""
        return gradient_ascent(
            params, objective,
            lambda p, grad: project(p + step_size * self.direction(grad)),
            self.steps, owner=type(self).__name__)


class IterativePixelAttack(PixelAttack):
    """A :class:`PixelAttack` that takes ``steps`` ascent steps from a (random) start.

    Args:
        eps, norm, mask, seed: As for :class:`PixelAttack`.
        steps (int): Number of steps. Defaults to 10.
        random_start (bool): Start from a random point of the budget. Defaults to True.
    """

    def __init__(self,
                 eps: float = 8 / 255,
                 norm: str = 'linf',
                 steps: int = 10,
                 random_start: bool = True,
                 mask: Optional[str] = None,
                 seed: int = 0) -> None:
        super().__init__(eps=eps, norm=norm, mask=mask, seed=seed)
        self.steps = check_steps(steps)
        self.random_start = bool(random_start)

    def ascend_penalized(self, params: torch.Tensor,
                         adversarial: Callable[[torch.Tensor], torch.Tensor], victim,
                         data_samples: list, weight: float,
                         penalty: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """Signed ascent (step ``alpha``) of ``victim.loss(adversarial(params)) -
        weight * mean(penalty(params))`` with ``params`` clamped to ``[-eps, eps]``
        (the smooth-function attacks: a colour lattice, a flow field)."""
        def objective(current):
            loss = victim.loss(adversarial(current), data_samples)
            if weight > 0:
                loss = loss - weight * penalty(current).mean()
            return loss

        return self.ascend(params, objective, self.alpha,
                           lambda current: current.clamp(-self.eps, self.eps))

    def quarter_budget_step(self, alpha: Optional[float], fallback: float) -> float:
        """``alpha``, or when it is None a quarter of ``eps`` (``fallback`` for
        ``eps=0``, a no-op baseline that still needs a valid positive step)."""
        if alpha is not None:
            return alpha
        return self.eps / 4 if self.eps > 0 else fallback


__all__ = ['PixelAttack', 'IterativePixelAttack']
