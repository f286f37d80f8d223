"""What every pixel-space attack shares: budget checks, seeding and the call protocol.

An attack is a small registered class built from config and called as
``attack(victim, pixels, data_samples) -> adversarial pixels``. Budgets are given on the
0-1 scale of the papers (``eps=8/255``) and applied to the 0-255 pixels of the victim.
"""
import hashlib
import numbers
import warnings
from contextlib import contextmanager
from typing import Callable, Iterator, Optional, Union

import torch
from mmengine.dist import get_rank

from mmgat.registry import ATTACKS
from mmgat.utils.errors import ConfigError
from .masks import check_mask_mode

#: Norms of the perturbation budget.
NORMS = ('linf', 'l2')


def derive_seed(seed: int, rank: int, iteration: int) -> int:
    """A 63-bit seed from ``(seed, rank, iteration)``.

    Hashing (rather than e.g. ``seed + iteration``) keeps nearby triples from giving
    overlapping random streams on different ranks.
    """
    digest = hashlib.blake2b(f'{seed}/{rank}/{iteration}'.encode(), digest_size=8)
    return int.from_bytes(digest.digest(), 'little') & ((1 << 63) - 1)


@contextmanager
def seeded_global_rng(seed: int, device: torch.device) -> Iterator[None]:
    """Seed torch's global RNG (CPU and ``device``) for a block, then restore it.

    Some model losses draw from the global RNG (mmdet's ``RandomSampler``); seeding it
    makes the attack reproducible, and restoring it leaves the training's random
    stream exactly as if no attack had run.
    """
    devices = []
    if device.type == 'cuda':
        devices = [device.index if device.index is not None
                   else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=devices):
        torch.random.default_generator.manual_seed(seed)
        for index in devices:
            with torch.cuda.device(index):
                torch.cuda.manual_seed(seed)
        yield


def _check_number(name: str, value, low: float, low_inclusive: bool) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        ok = value >= low if low_inclusive else value > low
        ok = ok and value < float('inf')
    if not ok:
        bound = f'>= {low}' if low_inclusive else f'> {low}'
        raise ConfigError(f'{name} must be a finite number {bound}, got {value!r}')
    return float(value)


def check_eps(value) -> float:
    """Validate a budget (0-1 scale): a finite number >= 0."""
    return _check_number('eps', value, 0.0, True)


def check_alpha(value) -> float:
    """Validate a step size (0-1 scale): a finite number > 0."""
    return _check_number('alpha', value, 0.0, False)


def check_positive(name: str, value) -> float:
    """Validate a named option that must be a finite number > 0."""
    return _check_number(name, value, 0.0, False)


def check_seed(value) -> int:
    """Validate a seed: an int."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise ConfigError(f'seed must be an int, got {value!r}')
    return int(value)


def check_steps(value) -> int:
    """Validate a number of steps: an int >= 1."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ConfigError(f'steps must be an int >= 1, got {value!r}')
    return int(value)


def check_norm(value) -> str:
    """Validate a norm name (``'linf'`` or ``'l2'``)."""
    if value not in NORMS:
        raise ConfigError(f'unknown norm {value!r}; expected one of {NORMS}')
    return value


class BaseAttack:
    """Base class of the pixel-space attacks.

    Subclasses implement :meth:`perturb`; :meth:`__call__` wraps it with what every
    attack needs: the victim's attack mode (eval mode, frozen parameters), gradients
    enabled (the test loop runs under ``no_grad``), seeded randomness and a final
    clip to [0, 255].

    Randomness: the random start is drawn from a CPU ``torch.Generator`` seeded by
    :func:`derive_seed` ``(seed, rank, iteration)``, and the global RNG is seeded the
    same way for the duration of the call (then restored), so the same seed, rank and
    iteration give the same adversarial batch. On CUDA, bit-identical results also
    need deterministic kernels (``torch.use_deterministic_algorithms``).

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
        self.eps = check_eps(eps)
        self.norm = check_norm(norm)
        self.mask = check_mask_mode(mask)
        self.seed = check_seed(seed)

    def __repr__(self) -> str:
        fields = ', '.join(f'{k}={v!r}' for k, v in vars(self).items()
                           if not k.startswith('_'))
        return f'{type(self).__name__}({fields})'

    def __call__(self,
                 victim,
                 pixels: torch.Tensor,
                 data_samples: list,
                 *,
                 iteration: int = 0,
                 generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Return adversarial pixels (detached, same shape, in [0, 255]).

        Args:
            victim: A :class:`mmgat.victims.BaseVictim`.
            pixels (Tensor): ``N x C x H x W`` float pixels in [0, 255].
            data_samples (list): The samples from ``victim.to_pixels``.
            iteration (int): Training iteration (or test batch index): part of the
                seed of the random start.
            generator (torch.Generator, optional): Use this generator for the random
                start instead of one seeded by ``(seed, rank, iteration)``.
        """
        adv = self._perturb_in_attack_mode(victim, pixels, data_samples, iteration,
                                           generator)
        return adv.detach().clamp(0, 255)

    def _perturb_in_attack_mode(self, victim, pixels: torch.Tensor, data_samples: list,
                                iteration: int, generator: Optional[torch.Generator]):
        """:meth:`perturb` with checked inputs, in the victim's attack mode, with
        gradients enabled and the global RNG seeded by ``(seed, rank, iteration)``."""
        if not isinstance(pixels, torch.Tensor) or pixels.dim() != 4:
            raise ValueError('pixels must be an N x C x H x W tensor')
        if len(data_samples) != pixels.shape[0]:
            raise ValueError(f'{pixels.shape[0]} images but {len(data_samples)} '
                             'data samples')
        seed = derive_seed(self.seed, get_rank(), iteration)
        if generator is None:
            generator = torch.Generator().manual_seed(seed)
        pixels = pixels.detach()
        with seeded_global_rng(seed, pixels.device), victim.attack_mode(), \
                torch.enable_grad():
            return self.perturb(victim, pixels, data_samples, generator)

    def perturb(self, victim, pixels: torch.Tensor, data_samples: list,
                generator: torch.Generator) -> torch.Tensor:
        """Compute the adversarial pixels; implemented by each attack."""
        raise NotImplementedError

    # ----------------------------------------------------------- budget geometry
    # Perturbations are ``G x C x H x W``; the budget holds for each of the G.
    @property
    def eps_pixels(self) -> float:
        """The budget in 0-255 pixel units."""
        return self.eps * 255

    @staticmethod
    def draw(shape, generator: torch.Generator, like: torch.Tensor,
             normal: bool = False) -> torch.Tensor:
        """Random numbers from ``generator`` (on its device), moved to ``like``'s."""
        fn = torch.randn if normal else torch.rand
        return fn(shape, generator=generator, device=generator.device).to(
            device=like.device, dtype=like.dtype)

    def random_delta(self, shape, generator: torch.Generator,
                     like: torch.Tensor) -> torch.Tensor:
        """A random start inside the budget.

        L-inf: uniform in ``[-eps, eps]`` per pixel. L2: a Gaussian direction scaled
        to a radius drawn uniformly from ``[0, eps]`` (the draws are made in this
        order, one tensor each, so that equal shapes give equal starts).
        """
        eps = self.eps_pixels
        if self.norm == 'linf':
            return (self.draw(shape, generator, like) * 2 - 1) * eps
        direction = self.draw(shape, generator, like, normal=True)
        radius = self.draw((shape[0], ), generator, like) * eps
        norms = direction.flatten(1).norm(dim=1).clamp_min(1e-12)
        return direction * (radius / norms).view(-1, *[1] * (len(shape) - 1))

    def project(self, delta: torch.Tensor) -> torch.Tensor:
        """Project each perturbation onto the eps ball."""
        eps = self.eps_pixels
        if self.norm == 'linf':
            return delta.clamp(-eps, eps)
        norms = delta.flatten(1).norm(dim=1).clamp_min(1e-12)
        factor = (eps / norms).clamp(max=1.0)
        return delta * factor.view(-1, *[1] * (delta.dim() - 1))

    def direction(self, grad: torch.Tensor) -> torch.Tensor:
        """Steepest-ascent direction of unit size: sign (L-inf) or L2-normalised."""
        if self.norm == 'linf':
            return grad.sign()
        norms = grad.flatten(1).norm(dim=1).clamp_min(1e-12)
        return grad / norms.view(-1, *[1] * (grad.dim() - 1))

    # ----------------------------------------------------------- optimisation
    # The loop of the gradient attacks (PGD, SharedPGD, PerceptualAttack, ReColor,
    # SpatialFlow); they differ in what they optimise, its objective and its
    # projection. Subclasses that use it set ``steps`` (and ``random_start``).
    def uniform_start(self, shape, bound: float, generator: torch.Generator,
                      like: torch.Tensor) -> torch.Tensor:
        """Uniform in ``[-bound, bound]`` if ``self.random_start``, zeros otherwise."""
        if self.random_start:
            return (self.draw(shape, generator, like) * 2 - 1) * bound
        return like.new_zeros(shape)

    def ascend(self, params: torch.Tensor,
               objective: Callable[[torch.Tensor], torch.Tensor], step_size: float,
               project: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """``self.steps`` steps of projected gradient ascent on ``objective(params)``.

        Each step moves ``params`` by ``step_size`` along :meth:`direction` of the
        gradient (its sign for L-inf), then ``project`` (called without gradient)
        maps it back into the feasible set. A step whose gradient is NaN / inf for a
        perturbation (an entry of the first dim) is skipped for it, with a warning.

        Returns:
            Tensor: The last ``params``, detached.
        """
        for step in range(self.steps):
            params.requires_grad_(True)
            grad = self._gradient(objective(params), params)
            with torch.no_grad():
                grad = self._drop_non_finite(grad, step)
                params = project(params.detach() + step_size * self.direction(grad))
        return params.detach()

    @staticmethod
    def _gradient(loss: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
        if not loss.requires_grad:  # e.g. a loss that does not depend on the image
            return torch.zeros_like(delta)
        grad, = torch.autograd.grad(loss, delta, allow_unused=True)
        return torch.zeros_like(delta) if grad is None else grad

    def _drop_non_finite(self, grad: torch.Tensor, step: int) -> torch.Tensor:
        """Zero (= skip the step for) perturbations whose gradient is NaN / inf."""
        finite = torch.isfinite(grad).flatten(1).all(dim=1)
        if bool(finite.all()):
            return grad
        bad = int((~finite).sum())
        warnings.warn(
            f'{type(self).__name__}: non-finite gradient at step {step + 1}/'
            f'{self.steps} for {bad} of {finite.numel()} perturbation(s); their '
            'step is skipped', RuntimeWarning, stacklevel=4)
        keep = finite.view(-1, *[1] * (grad.dim() - 1))
        return torch.where(keep, grad, torch.zeros_like(grad))


def build_attack(cfg: Union[dict, BaseAttack]) -> BaseAttack:
    """Build an attack from a config dict (``type`` may carry the ``mmgat.`` prefix).

    An attack object (anything callable) is returned as it is.
    """
    if not isinstance(cfg, dict):
        if callable(cfg):
            return cfg
        raise ConfigError(f'an attack must be a config dict, got {type(cfg).__name__}')
    cfg = dict(cfg)
    if 'type' not in cfg:
        raise ConfigError(f'the attack config has no "type": {cfg}')
    kind = cfg.pop('type')
    if isinstance(kind, str):
        name = kind[len('mmgat.'):] if kind.startswith('mmgat.') else kind
        cls = ATTACKS.get(name)
        if cls is None:
            raise ConfigError(f'unknown attack type {kind!r}; registered: '
                              f'{sorted(ATTACKS.module_dict)}')
    else:
        cls = kind
    try:
        return cls(**cfg)
    except TypeError as e:
        raise ConfigError(f'invalid arguments for attack {kind!r}: {e}') from None
