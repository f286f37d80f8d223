"""L-p budget geometry: free, differentiable-where-it-matters functions on perturbations.

A perturbation batch is ``G x ...`` (one perturbation per entry of the first dim; e.g.
``N x C x H x W`` for PGD, ``heaps x C x H x W`` for SharedPGD); the budget holds for
each of the G. Radii are in the units of the perturbation (0-255 pixels for the pixel
attacks: ``eps * 255``).
"""
import torch

from mmgat.utils.checks import check_number
from mmgat.utils.errors import ConfigError

#: Norms of a perturbation budget.
NORMS = ('linf', 'l2')


def check_norm(value) -> str:
    """Validate a norm name (``'linf'`` or ``'l2'``)."""
    if value not in NORMS:
        raise ConfigError(f'unknown norm {value!r}; expected one of {NORMS}')
    return value


def check_eps(value) -> float:
    """Validate a budget (0-1 scale): a finite number >= 0."""
    return check_number('eps', value, 0.0)


def check_alpha(value) -> float:
    """Validate a step size (0-1 scale): a finite number > 0."""
    return check_number('alpha', value, 0.0, inclusive=False)


def _per_row(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``[G]`` -> ``G x 1 x ... x 1`` to broadcast over ``like``."""
    return values.view(-1, *[1] * (like.dim() - 1))


def lp_project(delta: torch.Tensor, radius: float, norm: str) -> torch.Tensor:
    """Project each perturbation (entry of the first dim) onto the ``radius`` ball."""
    if norm == 'linf':
        return delta.clamp(-radius, radius)
    norms = delta.flatten(1).norm(dim=1).clamp_min(1e-12)
    return delta * _per_row((radius / norms).clamp(max=1.0), delta)


def lp_direction(grad: torch.Tensor, norm: str) -> torch.Tensor:
    """Steepest-ascent direction of unit size: the sign (L-inf) or the L2-normalised
    gradient of each perturbation."""
    if norm == 'linf':
        return grad.sign()
    norms = grad.flatten(1).norm(dim=1).clamp_min(1e-12)
    return grad / _per_row(norms, grad)


def draw(shape, generator: torch.Generator, like: torch.Tensor,
         normal: bool = False) -> torch.Tensor:
    """Random numbers from ``generator`` (on its device), moved to ``like``'s device and
    dtype (so a CPU generator gives the same draws for a CUDA batch)."""
    fn = torch.randn if normal else torch.rand
    return fn(shape, generator=generator, device=generator.device).to(
        device=like.device, dtype=like.dtype)


def lp_random_start(shape, radius: float, norm: str, generator: torch.Generator,
                    like: torch.Tensor) -> torch.Tensor:
    """A random point of the ``radius`` ball for each of the ``shape[0]`` perturbations.

    L-inf: uniform in ``[-radius, radius]`` per entry. L2: a Gaussian direction scaled
    to a radius drawn uniformly from ``[0, radius]`` (drawn in this order, one tensor
    each, so that equal shapes give equal starts).
    """
    if norm == 'linf':
        return (draw(shape, generator, like) * 2 - 1) * radius
    direction = draw(shape, generator, like, normal=True)
    radii = draw((shape[0], ), generator, like) * radius
    norms = direction.flatten(1).norm(dim=1).clamp_min(1e-12)
    return direction * _per_row(radii / norms, direction)


__all__ = ['NORMS', 'check_norm', 'check_eps', 'check_alpha', 'lp_project',
           'lp_direction', 'lp_random_start', 'draw']
