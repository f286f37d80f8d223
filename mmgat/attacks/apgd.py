"""Auto-PGD (Croce & Hein, ICML 2020): the step-size-free PGD at AutoAttack's core."""
import math
from dataclasses import dataclass
from typing import Callable, List, Optional

import torch

from mmgat.registry import ATTACKS
from mmgat.utils.checks import check_int, check_steps
from mmgat.utils.errors import ConfigError
from .ascent import drop_non_finite, finite_rows, loss_gradients
from .pixel_attack import IterativePixelAttack
from .pixel_losses import per_image_pixel_ce

#: Losses APGD can maximise.
APGD_LOSSES = ('ce', 'dlr')
#: Fraction of the steps since the last checkpoint that must raise the loss for the
#: step size to be kept (the paper's rho).
RHO = 0.75
#: Weight of the new step against the previous one (the paper's alpha).
MOMENTUM = 0.75


def apgd_checkpoints(steps: int) -> List[int]:
    """The iterations where APGD may halve its step: ``w_j = ceil(p_j * steps)``.

    ``p_0 = 0``, ``p_1 = 0.22``, ``p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06)``
    while ``p_j <= 1``; duplicates (few steps) are dropped. ``steps=100`` gives
    ``[0, 22, 41, 57, 70, 80, 87, 93, 99]``.
    """
    steps = check_steps(steps)
    # p in hundredths: in floats 0.22 + 0.19 is 0.41000000000000003, whose ceil
    # would put the second checkpoint one step late.
    before, current = 0, 22
    points = [0]
    while current <= 100:
        points.append(-(-current * steps // 100))
        before, current = current, current + max(current - before - 3, 6)
    return sorted(set(points))


def dlr_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Difference of logits ratio per example, ``[N]``:
    ``-(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3 + 1e-12)`` with the logits sorted
    in descending order (``z_pi1`` the largest). Invariant to shifting and scaling the
    logits; needs >= 3 classes."""
    ordered = logits.sort(dim=1, descending=True).values
    true = logits.gather(1, labels[:, None])[:, 0]
    top_is_true = logits.argmax(dim=1) == labels
    best_other = torch.where(top_is_true, ordered[:, 1], ordered[:, 0])
    return -(true - best_other) / (ordered[:, 0] - ordered[:, 2] + 1e-12)


@dataclass
class APGDTrace:
    """What the last call of an :class:`APGD` did (diagnostics, e.g. for tests).

    Attributes:
        checkpoints (list[int]): :func:`apgd_checkpoints` of the attack's steps.
        step_sizes (Tensor): ``R x T x N`` (restarts, steps, images): the step size
            in 0-255 pixel units (L-inf: per pixel; L2: the step's norm) of step
            ``k -> k + 1``. A halving at checkpoint ``w`` shows from step ``w`` on.
        losses (Tensor): ``R x (T + 1) x N``: the loss evaluated at each iterate
            ``x_0..x_T`` (NaN counted as ``-inf``). An image restarted at checkpoint
            ``w`` continues from its best point, whose loss (the running maximum at
            ``w``) starts the next window of the rule.
        best_losses (Tensor): ``R x N``: the best loss of each restart.
    """

    checkpoints: List[int]
    step_sizes: torch.Tensor
    losses: torch.Tensor
    best_losses: torch.Tensor


@ATTACKS.register_module()
class APGD(IterativePixelAttack):
    """Auto-PGD: PGD with momentum whose step size halves when progress stalls.

    The step size starts at ``2 * eps`` (pixel units: ``2 * eps * 255``; for L2 the
    norm of the step) and is adapted per image. With ``P`` the projection onto the eps
    ball, [0, 255] and the perturbation region, each step is::

        z       = P(x_k + eta * dir(grad f(x_k)))          # dir: sign / L2-normalised
        x_{k+1} = P(x_k + 0.75 (z - x_k) + 0.25 (x_k - x_{k-1}))

    (the first step, and the first after a restart from the best point, without
    momentum: ``x_{k+1} = z``). At each checkpoint ``w_j`` (:func:`apgd_checkpoints`)
    an image's step is halved, and it restarts from its best point so far, if fewer
    than 75% of the steps since ``w_{j-1}`` raised its loss, or if its step was not
    halved at ``w_{j-1}`` and its best loss has not improved since. The result is,
    per image, the point of highest loss seen (over all restarts).

    Each image's progress needs each image's loss:

    - classification: the victim's per-example cross-entropy (``loss='ce'``) or the
      DLR loss of the logits (``loss='dlr'``, >= 3 classes);
    - segmentation: the image's mean pixel cross-entropy of the decode head's scores
      (:meth:`~mmgat.victims.SegmentorVictim.pixel_logits`, ignored pixels left out),
      not the model's loss dict (no auxiliary heads);
    - any other victim (detection): the victim's own loss on each image alone, a
      batch of one per image. A detector's losses are normalised over the batch, so
      the batch loss does not split into per-image terms; the cost is N forward /
      backward passes of one image per step instead of one of N images. (Tracking
      the batch loss as one unit would be cheaper but would keep or restart all
      images together, which is not the per-image algorithm.)

    A step whose gradient is NaN / inf for an image is skipped for that image (with a
    warning); a NaN loss counts as ``-inf``, so such a point is never the best. The
    batch padding and, with ``mask='background'``, the foreground stay bit-identical.
    :attr:`trace` holds the step sizes and losses of the last call.

    Args:
        eps (float): Budget on the 0-1 scale (``eps * 255`` in pixel units; for L2 a
            bound on each image's norm, e.g. 0.5 -> 127.5). Defaults to 8/255.
        norm (str): ``'linf'`` or ``'l2'``. Defaults to ``'linf'``.
        steps (int): Number of steps ``N`` (N + 1 gradient evaluations per restart).
            Defaults to 100, as in AutoAttack.
        loss (str): ``'ce'`` (cross-entropy; for detection the task loss) or
            ``'dlr'`` (classification only). Defaults to ``'ce'``.
        restarts (int): Runs of the attack; each after the first starts from a new
            random point, and each image keeps its best over all runs. Defaults to 1.
        random_start (bool): Start the first run from a random point of the ball
            (otherwise from the clean image). Defaults to True.
        mask (str, optional): ``None`` or ``'background'``. Defaults to None.
        seed (int): Base seed of the random starts. Defaults to 0.

    Example:
        >>> attack = dict(type='mmgat.APGD', eps=8 / 255, norm='linf', steps=100,
        ...               loss='dlr', restarts=1)
        >>> attack = ATTACKS.build(attack)
        >>> adv = attack(victim, pixels, samples, iteration=0)
        >>> attack.trace.step_sizes[0, :, 0]  # image 0's step size, step by step
    """

    # The threat model of PGD (an L-p ball of the pixels): a PGD-trained model has
    # seen it, and an APGD-trained one has seen PGD.
    families = ('pgd', )

    def __init__(self,
                 eps: float = 8 / 255,
                 norm: str = 'linf',
                 steps: int = 100,
                 loss: str = 'ce',
                 restarts: int = 1,
                 random_start: bool = True,
                 mask: Optional[str] = None,
                 seed: int = 0) -> None:
        super().__init__(eps=eps, norm=norm, steps=steps, random_start=random_start,
                         mask=mask, seed=seed)
        if loss not in APGD_LOSSES:
            raise ConfigError(f'unknown APGD loss {loss!r}; expected one of '
                              f'{APGD_LOSSES}')
        self.loss = loss
        self.restarts = check_int('restarts', restarts, low=1)
        self._trace: Optional[APGDTrace] = None

    @property
    def trace(self) -> Optional[APGDTrace]:
        """The :class:`APGDTrace` of the last call (None before the first)."""
        return self._trace

    # ----------------------------------------------------------- per-image losses
    def _per_image_loss(self, victim, pixels: torch.Tensor,
                        data_samples: list) -> Callable[[torch.Tensor], torch.Tensor]:
        """``adv pixels -> [N]`` losses, differentiable (see the class docstring)."""
        name = type(victim).__name__
        if self.loss == 'dlr':
            if not hasattr(victim, 'logits') or not hasattr(victim, 'labels'):
                task = getattr(victim, 'task', '') or 'unknown task'
                raise ConfigError(f"APGD loss='dlr' needs class logits (a "
                                  f'classification victim); {name} ({task}) has none')

            def dlr(adv):
                logits = victim.logits(adv, data_samples)
                if logits.shape[1] < 3:
                    raise ConfigError(f"APGD loss='dlr' needs >= 3 classes; the "
                                      f'{name} model has {logits.shape[1]}')
                return dlr_loss(logits, victim.labels(data_samples, logits.device))

            return dlr
        if getattr(victim, 'supports_per_sample_loss', False):
            return lambda adv: victim.per_sample_loss(adv, data_samples)
        if getattr(victim, 'supports_pixel_logits', False):
            labels = victim.pixel_labels(data_samples, pixels.shape, device=pixels.device)
            return lambda adv: per_image_pixel_ce(victim, adv, data_samples, labels)

        def one_by_one(adv):
            return torch.stack([victim.loss(adv[i:i + 1], data_samples[i:i + 1])
                                for i in range(adv.shape[0])])

        return one_by_one

    # ----------------------------------------------------------- the attack
    def perturb(self, victim, pixels: torch.Tensor, data_samples: list, *,
                generator: torch.Generator, iteration: int) -> torch.Tensor:
        loss_fn = self._per_image_loss(victim, pixels, data_samples)
        region = self.region(victim, data_samples, pixels)
        best_delta = best_loss = None
        runs = []
        for run in range(self.restarts):
            delta, loss, record = self._run_once(pixels, region, loss_fn, generator,
                                                 random=self.random_start or run > 0)
            runs.append(record)
            if best_delta is None:
                best_delta, best_loss = delta, loss
            else:
                better = loss > best_loss
                best_delta = torch.where(_rows(better, delta), delta, best_delta)
                best_loss = torch.where(better, loss, best_loss)
        self._trace = APGDTrace(
            checkpoints=apgd_checkpoints(self.steps),
            step_sizes=torch.stack([r[0] for r in runs]),
            losses=torch.stack([r[1] for r in runs]),
            best_losses=torch.stack([r[2] for r in runs]))
        with torch.no_grad():
            return self.perturbed(pixels, best_delta, region)

    def _run_once(self, pixels: torch.Tensor, region: torch.Tensor,
                  loss_fn: Callable[[torch.Tensor], torch.Tensor],
                  generator: torch.Generator, random: bool):
        """One APGD run: ``(best delta, best loss [N], (step sizes, losses, best))``."""
        num = pixels.shape[0]
        if random:
            delta = self.random_delta(pixels.shape, generator, pixels)
        else:
            delta = torch.zeros_like(pixels)
        delta = self.settled(delta, pixels, region)
        checkpoints = set(apgd_checkpoints(self.steps)[1:])

        loss, grad, finite = self._evaluate(pixels, delta, region, loss_fn, 0)
        best_loss, best_delta, best_grad = loss.clone(), delta.clone(), grad.clone()
        eta = pixels.new_full((num, ), 2 * self.eps_pixels)
        previous = delta
        # Images whose next step takes no momentum: all at first, the restarted ones.
        fresh = torch.ones(num, dtype=torch.bool, device=pixels.device)
        last_check, best_at_check = 0, best_loss.clone()
        halved_at_check = torch.zeros_like(fresh)
        losses, etas = [loss], []
        for step in range(self.steps):
            with torch.no_grad():
                etas.append(eta.clone())
                weight = _rows(MOMENTUM + (1 - MOMENTUM) * fresh.to(delta.dtype), delta)
                z = self._feasible(delta + _rows(eta, delta) * self.direction(grad),
                                   pixels, region)
                moved = self._feasible(
                    delta + weight * (z - delta) + (1 - weight) * (delta - previous),
                    pixels, region)
                moved = torch.where(_rows(finite, delta), moved, delta)  # skipped
                previous, delta = delta, moved
                fresh = torch.zeros_like(fresh)
            loss, grad, finite = self._evaluate(pixels, delta, region, loss_fn,
                                                step + 1)
            with torch.no_grad():
                losses.append(loss)
                improved = loss > best_loss
                best_loss = torch.where(improved, loss, best_loss)
                best_delta = torch.where(_rows(improved, delta), delta, best_delta)
                best_grad = torch.where(_rows(improved, grad), grad, best_grad)
                if step + 1 not in checkpoints:
                    continue
                window = torch.stack(losses[last_check:])
                # An image restarted at the last checkpoint counts from its best point.
                window[0] = torch.where(halved_at_check, best_at_check, window[0])
                raised = (window[1:] > window[:-1]).sum(dim=0)
                stalled = raised < RHO * (step + 1 - last_check)
                no_gain = ~halved_at_check & (best_loss <= best_at_check)
                halve = stalled | no_gain
                eta = torch.where(halve, eta / 2, eta)
                delta = torch.where(_rows(halve, delta), best_delta, delta)
                grad = torch.where(_rows(halve, grad), best_grad, grad)
                finite = finite | halve  # the best point's gradient was finite
                fresh = halve
                halved_at_check = halve
                last_check, best_at_check = step + 1, best_loss.clone()
        record = (torch.stack(etas).cpu(), torch.stack(losses).cpu(), best_loss.cpu())
        return best_delta, best_loss, record

    def _evaluate(self, pixels: torch.Tensor, delta: torch.Tensor, region: torch.Tensor,
                  loss_fn: Callable[[torch.Tensor], torch.Tensor], step: int):
        """``(losses [N], gradient, finite [N])`` at ``pixels + delta``; the rows of a
        non-finite gradient are zeroed with a warning, NaN losses become ``-inf``."""
        current = delta.detach().requires_grad_(True)
        loss = loss_fn(self.perturbed(pixels, current, region))
        grad, = loss_gradients(loss.sum(), [current])
        with torch.no_grad():
            finite = finite_rows([grad])
            grad, = drop_non_finite([grad], type(self).__name__, step, self.steps + 1)
            loss = torch.nan_to_num(loss.detach().float(), nan=-math.inf)
        return loss, grad, finite

    # ----------------------------------------------------------- geometry
    def _feasible(self, delta: torch.Tensor, pixels: torch.Tensor,
                  region: torch.Tensor) -> torch.Tensor:
        """``P``: onto the eps ball, then into the region and [0, 255]."""
        return self.settled(self.project(delta), pixels, region)


def _rows(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``[N]`` -> ``N x 1 x ... x 1`` to broadcast over ``like``."""
    return values.view(-1, *[1] * (like.dim() - 1))


__all__ = ['APGD', 'APGDTrace', 'apgd_checkpoints', 'dlr_loss', 'APGD_LOSSES']
