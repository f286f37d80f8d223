"""The one ascent loop of the iterative attacks, with non-finite gradients skipped.

PGD, SharedPGD, the universal update, ReColor, SpatialFlow, PerceptualAttack,
LatentAttack, LayerActivationAttack and AdvBN differ in what they optimise, their
objective and their update (signed step + projection, per-tensor bounds, Adam); they
share :func:`gradient_ascent`: gradient of the objective w.r.t. the parameters, an
optional reduction of the gradients (the universal perturbation's all-reduce), the
rows whose gradient is NaN / inf zeroed with a warning, then the update. APGD keeps a
per-image state between steps (step sizes, best points, restarts at checkpoints) and
runs its own loop on the same :func:`loss_gradients` / :func:`drop_non_finite`.
"""
import warnings
from typing import Callable, List, Optional, Sequence, Union

import torch

Params = Union[torch.Tensor, Sequence[torch.Tensor]]


def loss_gradients(loss: torch.Tensor,
                   params: Sequence[torch.Tensor]) -> List[torch.Tensor]:
    """``d loss / d param`` for each param; zeros where the loss does not depend on it."""
    if not loss.requires_grad:  # e.g. a loss that does not depend on the image
        return [torch.zeros_like(p) for p in params]
    grads = torch.autograd.grad(loss, list(params), allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]


def finite_rows(grads: Sequence[torch.Tensor]) -> torch.Tensor:
    """``[G]`` bool: whether every entry of row ``g`` (first dim) of every gradient is
    finite (rows are perturbations, or images for per-image latents)."""
    finite = None
    for grad in grads:
        ok = torch.isfinite(grad).flatten(1).all(dim=1)
        finite = ok if finite is None else finite & ok
    return finite


def drop_non_finite(grads: Sequence[torch.Tensor], owner: str, step: int,
                    steps: int) -> List[torch.Tensor]:
    """Zero (= skip the step for) the rows whose gradient is NaN / inf, with a warning."""
    finite = finite_rows(grads)
    if bool(finite.all()):
        return list(grads)
    bad = int((~finite).sum())
    warnings.warn(
        f'{owner}: non-finite gradient at step {step + 1}/{steps} for {bad} of '
        f'{finite.numel()} perturbation(s); their step is skipped', RuntimeWarning,
        stacklevel=3)
    return [torch.where(finite.view(-1, *[1] * (g.dim() - 1)), g, torch.zeros_like(g))
            for g in grads]


def gradient_ascent(params: Params,
                    objective: Callable,
                    update: Callable,
                    steps: int,
                    owner: str = 'attack',
                    reduce: Optional[Callable[[List[torch.Tensor]],
                                              List[torch.Tensor]]] = None) -> Params:
    """``steps`` steps of gradient ascent on ``objective(params)``.

    Args:
        params (Tensor | Sequence[Tensor]): Starting point (not modified).
            ``objective`` and ``update`` get the same structure (a tensor or a list).
        objective: ``params -> scalar tensor`` to maximise (called with gradients on).
        update: ``(params, grads) -> params``, called without gradient; it takes
            the step and maps back into the feasible set (projection, clipping).
        steps (int): Number of steps.
        owner (str): Named in the warning about non-finite gradients.
        reduce: ``grads -> grads`` before the finiteness check, e.g. an all-reduce
            so every rank takes the same step.

    Returns:
        The last ``params``, detached.
    """
    single = isinstance(params, torch.Tensor)
    current = [params] if single else list(params)
    for step in range(steps):
        current = [p.detach().requires_grad_(True) for p in current]
        loss = objective(current[0] if single else current)
        grads = loss_gradients(loss, current)
        with torch.no_grad():
            if reduce is not None:
                grads = reduce(grads)
            grads = drop_non_finite(grads, owner, step, steps)
            detached = [p.detach() for p in current]
            moved = update(detached[0] if single else detached,
                           grads[0] if single else grads)
        current = [moved] if single else list(moved)
    current = [p.detach() for p in current]
    return current[0] if single else current


__all__ = ['gradient_ascent', 'loss_gradients', 'finite_rows', 'drop_non_finite']
