"""Universal adversarial training: one persistent perturbation (Shafahi et al., AAAI 2020).

Unlike PGD, which starts afresh for every batch, a universal perturbation is *state*: one
``1 x C x H x W`` tensor shared by every image, moved by one signed-gradient step per
training iteration and kept inside the eps ball. Its cost is one extra forward/backward
pass per iteration ("almost free"), and the same class computes the stochastic PGD
(sPGD) universal perturbation of ``tools/compute_universal.py``.
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.dist import all_reduce, get_world_size

from mmgat.registry import ATTACKS
from mmgat.utils.errors import ConfigError
from mmgat.utils.checks import is_int
from mmgat.utils.ranks import check_peers
from .ascent import gradient_ascent
from .base_attack import derive_seed
from .lp_budget import check_alpha
from .pixel_attack import PixelAttack

#: How a perturbation is fitted to a batch of another size.
FITS = ('crop', 'resize')


def _check_size(size) -> Optional[Tuple[int, int]]:
    if size is None:
        return None
    if is_int(size):
        size = (size, size)
    ok = (isinstance(size, (tuple, list)) and len(size) == 2
          and all(is_int(s) and s > 0 for s in size))
    if not ok:
        raise ConfigError(f'size must be None, an int or (H, W) of ints > 0, got {size!r}')
    return int(size[0]), int(size[1])


def fit_perturbation(delta: torch.Tensor, height: int, width: int,
                     fit: str = 'crop') -> torch.Tensor:
    """Bring a ``1 x C x h x w`` perturbation to ``height x width`` (differentiable).

    ``'crop'``: top-left aligned, like the images in a padded batch: a larger
    perturbation is cropped, a smaller one is zero-padded at the bottom / right (those
    pixels stay clean). ``'resize'``: bilinear interpolation; every output value is a
    convex combination of input values, so an L-inf budget still holds (an L2 one
    scales with the area).
    """
    h, w = delta.shape[-2:]
    if (h, w) == (height, width):
        return delta
    if fit == 'resize':
        return F.interpolate(delta, size=(height, width), mode='bilinear',
                             align_corners=False)
    out = delta[..., :height, :width]
    return F.pad(out, (0, width - out.shape[-1], 0, height - out.shape[-2]))


@ATTACKS.register_module()
class UniversalPerturbation(PixelAttack):
    """One persistent, image-agnostic perturbation updated once per call.

    Each call returns ``clip(pixels + delta * region, 0, 255)`` with the *current*
    ``delta`` and then updates ``delta`` from the gradient of the victim's loss at that
    same perturbed batch (one forward/backward pass)::

        delta <- project(delta + alpha * 255 * sign(mean over ranks of grad_delta))

    (L2: the gradient is L2-normalised instead of signed). This is universal
    adversarial training with simultaneous updates (Shafahi et al., "Universal
    Adversarial Training", AAAI 2020): the model is trained on the batch the
    perturbation was evaluated on, while the perturbation takes its ascent step.

    **State.** ``delta`` is a float32 ``1 x C x H x W`` tensor in 0-255 pixel units,
    in the model's channel order (that of the victim's pixels). It is created at the
    first call: zeros (or a random point of the eps ball with ``random_start=True``,
    drawn from a generator seeded by ``(seed, 0, 0)`` so every rank draws the same).
    :meth:`state_dict` / :meth:`load_state_dict` save and restore it with plain
    tensors and Python numbers; :class:`mmgat.hooks.AdversarialHook` stores them in
    every checkpoint (key ``'mmgat_adversarial'``) and restores them on ``--resume``.

    **DDP.** The gradient w.r.t. ``delta`` is averaged over ranks (an all-reduce,
    only when ``torch.distributed`` is initialised) before the step, so ``delta``
    stays bit-identical on every rank. Every rank must therefore call the attack at
    the same iterations (the hook does). Without ``size``, the ranks also agree on the
    largest first-batch size.

    **Size.** ``size=None`` takes the padded ``H x W`` of the first batch. A batch of
    another size gets the perturbation fitted by ``fit`` (see
    :func:`fit_perturbation`): ``'crop'`` (default) aligns it to the top-left corner,
    as images are aligned in a padded batch, cropping or zero-padding it; ``'resize'``
    interpolates it bilinearly. Only the fitted part receives gradient.

    The batch padding is never perturbed; with ``mask='background'`` the foreground
    stays bit-identical to the input. A non-finite gradient skips the update (on
    every rank alike), with a warning.

    Args:
        eps (float): Budget on the 0-1 scale (L-inf per pixel; L2 over the whole
            perturbation). Defaults to 8/255.
        alpha (float): Step per call (iteration) on the 0-1 scale. Defaults to 1/255.
        norm (str): ``'linf'`` or ``'l2'``. Defaults to ``'linf'``.
        mask (str, optional): ``None`` or ``'background'``. Defaults to None.
        size (tuple[int, int], optional): ``(H, W)`` of the perturbation. Defaults to
            the first batch's padded pixel size.
        fit (str): ``'crop'`` or ``'resize'``: how to fit it to a batch of another
            size. Defaults to ``'crop'``.
        random_start (bool): Start from a random point of the eps ball instead of
            zero. Defaults to False (Shafahi et al. start from zero).
        seed (int): Seed of the random start and of the global RNG during the call
            (with the rank and the iteration). Defaults to 0.

    Example:
        >>> custom_hooks = [
        ...     dict(type='mmgat.AdversarialHook', mode='append', phase='train',
        ...          attack=dict(type='mmgat.UniversalPerturbation', eps=8 / 255,
        ...                      alpha=1 / 255)),
        ... ]
    """

    families = ('universal', )

    def __init__(self,
                 eps: float = 8 / 255,
                 alpha: float = 1 / 255,
                 norm: str = 'linf',
                 mask: Optional[str] = None,
                 size: Optional[Sequence[int]] = None,
                 fit: str = 'crop',
                 random_start: bool = False,
                 seed: int = 0) -> None:
        super().__init__(eps=eps, norm=norm, mask=mask, seed=seed)
        self.alpha = check_alpha(alpha)
        self.size = _check_size(size)
        if fit not in FITS:
            raise ConfigError(f'unknown fit {fit!r}; expected one of {FITS}')
        self.fit = fit
        self.random_start = bool(random_start)
        # Underscored: kept out of __repr__ (the hook logs the attack).
        self._delta: Optional[torch.Tensor] = None
        self._num_updates = 0
        self._last_loss: Optional[torch.Tensor] = None

    # ------------------------------------------------------------------ state
    @property
    def delta(self) -> Optional[torch.Tensor]:
        """The perturbation ``1 x C x H x W`` (0-255 units), None before the first call."""
        return self._delta

    @property
    def num_updates(self) -> int:
        """How many updates (calls) ``delta`` has received, skipped ones included."""
        return self._num_updates

    @property
    def last_loss(self) -> Optional[float]:
        """The victim's loss at the last perturbed batch (this rank's)."""
        return None if self._last_loss is None else float(self._last_loss)

    def state_dict(self) -> dict:
        """The state as plain tensors / Python numbers (safe for ``weights_only``)."""
        delta = None if self._delta is None else self._delta.detach().to(
            'cpu', copy=True)
        return dict(delta=delta, num_updates=self._num_updates, eps=self.eps,
                    norm=self.norm)

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict` output.

        The perturbation is projected onto *this* attack's eps ball, so a checkpoint
        saved with a larger budget cannot exceed the configured one.
        """
        if not isinstance(state, dict) or 'delta' not in state:
            raise ConfigError('UniversalPerturbation state must be a dict with "delta", '
                              f'got {type(state).__name__}')
        delta = state['delta']
        if delta is not None:
            if not isinstance(delta, torch.Tensor) or delta.dim() != 4 or \
                    delta.shape[0] != 1:
                raise ConfigError('UniversalPerturbation state "delta" must be a '
                                  '1 x C x H x W tensor, got '
                                  f'{getattr(delta, "shape", type(delta).__name__)}')
            if self.size is not None and tuple(delta.shape[-2:]) != self.size:
                raise ConfigError(f'the saved universal perturbation is '
                                  f'{tuple(delta.shape[-2:])}, but size={self.size}')
            delta = self.project(delta.detach().to(torch.float32).clone())
        self._delta = delta
        self._num_updates = int(state.get('num_updates', 0))

    # ------------------------------------------------------------------ the update
    def perturb(self, victim, pixels: torch.Tensor, data_samples: list, *,
                generator: torch.Generator, iteration: int) -> torch.Tensor:
        delta = self._current_delta(pixels)
        if delta.shape[1] != pixels.shape[1]:
            raise ConfigError(f'the universal perturbation has {delta.shape[1]} '
                              f'channels but the images have {pixels.shape[1]}')
        region = self.region(victim, data_samples, pixels)
        evaluated = {}

        def objective(delta: torch.Tensor) -> torch.Tensor:
            # The model trains on this very batch: keep it (and its loss).
            evaluated['adv'] = self._apply(pixels, delta, region)
            evaluated['loss'] = victim.loss(evaluated['adv'], data_samples)
            return evaluated['loss']

        # One step; the gradient is averaged over ranks *before* it, so every rank
        # takes the same one (a non-finite gradient skips it everywhere alike).
        self._delta = gradient_ascent(
            delta, objective,
            lambda d, grad: self.project(d + self.alpha * 255 * self.direction(grad)),
            steps=1, owner=type(self).__name__, reduce=self._mean_over_ranks)
        self._num_updates += 1
        self._last_loss = evaluated['loss'].detach()
        return evaluated['adv'].detach()

    @staticmethod
    def _mean_over_ranks(grads: list) -> list:
        if get_world_size() > 1:
            check_peers('the sPGD update')  # a no-op outside the suite
            for grad in grads:
                all_reduce(grad, op='mean')
        return grads

    def _apply(self, pixels: torch.Tensor, delta: torch.Tensor,
               region: torch.Tensor) -> torch.Tensor:
        fitted = fit_perturbation(delta, pixels.shape[-2], pixels.shape[-1], self.fit)
        return (pixels + fitted * region).clamp(0, 255)

    def _current_delta(self, pixels: torch.Tensor) -> torch.Tensor:
        """The perturbation on the pixels' device, created at the first call."""
        if self._delta is None:
            channels = pixels.shape[1]
            height, width = self.size or self._agreed_size(pixels)
            shape = (1, channels, height, width)
            if self.random_start:
                # Rank and iteration 0 for everyone: all ranks start alike.
                gen = torch.Generator().manual_seed(derive_seed(self.seed, 0, 0))
                self._delta = self.random_delta(shape, gen, pixels.float())
            else:
                self._delta = pixels.new_zeros(shape, dtype=torch.float32)
        self._delta = self._delta.to(device=pixels.device, dtype=torch.float32)
        return self._delta

    @staticmethod
    def _agreed_size(pixels: torch.Tensor) -> Tuple[int, int]:
        """This batch's padded size, or the largest over ranks under DDP."""
        size = torch.tensor(pixels.shape[-2:], dtype=torch.int64, device=pixels.device)
        if get_world_size() > 1:
            all_reduce(size, op='max')
        return int(size[0]), int(size[1])
