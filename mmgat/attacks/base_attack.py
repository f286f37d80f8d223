"""The attack protocol: what every attack shares, whatever it perturbs.

An attack is a small registered class built from config and called as
``attack(victim, pixels, data_samples, iteration=...)``. :class:`BaseAttack` owns the
call: input checks, the victim's attack mode (eval mode, frozen parameters), gradients
enabled (test loops run under ``no_grad``), randomness seeded by ``(seed, rank,
iteration)``; a subclass writes only :meth:`BaseAttack.perturb`. What the call returns
depends on what the attack perturbs, one base class each:

- :class:`~mmgat.attacks.PixelAttack`: pixels (PGD, APGD, SegPGD, CosPGD,
  TOGVanishing, SharedPGD, universal, ReColor, SpatialFlow, PerceptualAttack);
- :class:`~mmgat.attacks.GeneratorAttack`: pixels re-synthesised through a frozen
  generator (LatentAttack, LayerActivationAttack);
- :class:`~mmgat.attacks.FeatureAttack`: a perturbation of a layer's output, applied
  during the model's next forward pass (AdvBN).

Each attack class also states the ``families`` of attacks a model trained with it has
seen (``('pgd', )`` ...), which the robustness suite uses to mark seen entries.
"""
import hashlib
from contextlib import contextmanager
from typing import Iterator, Optional, Tuple, Type, Union

import torch
from mmengine.dist import get_rank

from mmgat.registry import ATTACKS
from mmgat.utils.checks import check_seed
from mmgat.utils.errors import ConfigError


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


class BaseAttack:
    """Base of every attack: the call protocol.

    Randomness: :meth:`perturb` gets a CPU ``torch.Generator`` seeded by
    :func:`derive_seed` ``(seed, rank, iteration)``, and the global RNG is seeded the
    same way for the duration of the call (then restored), so the same seed, rank and
    iteration give the same result. On CUDA, bit-identical results also need
    deterministic kernels (``torch.use_deterministic_algorithms``).

    Subclasses set :attr:`families` and implement :meth:`perturb` (and, for a new
    kind of output, :meth:`finish`).

    Args:
        seed (int): Base seed of the attack's randomness.
    """

    #: Families of attacks a model trained with this attack has seen (suite entries of
    #: these families count as seen). ``None``: the lower-case class name.
    families: Optional[Tuple[str, ...]] = None

    def __init__(self, seed: int = 0) -> None:
        self.seed = check_seed(seed)

    def __repr__(self) -> str:
        fields = ', '.join(f'{k}={v!r}' for k, v in vars(self).items()
                           if not k.startswith('_'))
        return f'{type(self).__name__}({fields})'

    @classmethod
    def attack_families(cls) -> Tuple[str, ...]:
        """:attr:`families`, or the lower-case class name when it is not set."""
        return tuple(cls.families) if cls.families else (cls.__name__.lower(), )

    def __call__(self,
                 victim,
                 pixels: torch.Tensor,
                 data_samples: list,
                 *,
                 iteration: int = 0,
                 generator: Optional[torch.Generator] = None):
        """Run the attack on one batch.

        Args:
            victim: A :class:`mmgat.victims.BaseVictim`.
            pixels (Tensor): ``N x C x H x W`` float pixels in [0, 255].
            data_samples (list): The samples from ``victim.to_pixels``.
            iteration (int): Training iteration (or test batch index): part of the
                seed, and what schedules over iterations (e.g. cycling levels) see.
            generator (torch.Generator, optional): Use this generator instead of one
                seeded by ``(seed, rank, iteration)``.

        Returns:
            What :meth:`finish` makes of :meth:`perturb`'s result.
        """
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
            result = self.perturb(victim, pixels, data_samples, generator=generator,
                                  iteration=iteration)
        return self.finish(result)

    def perturb(self, victim, pixels: torch.Tensor, data_samples: list, *,
                generator: torch.Generator, iteration: int):
        """The attack itself, in attack mode; implemented by each attack."""
        raise NotImplementedError

    def finish(self, result):
        """What the call returns; pixel-producing attacks detach and clip."""
        return result


def attack_class(kind: Union[str, Type[BaseAttack]]) -> Optional[type]:
    """The registered class of an attack ``type`` (``'mmgat.PGD'`` or ``'PGD'``), or
    None when no attack of that name is registered."""
    if not isinstance(kind, str):
        return kind if isinstance(kind, type) else None
    name = kind[len('mmgat.'):] if kind.startswith('mmgat.') else kind
    return ATTACKS.get(name)


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
    cls = attack_class(kind)
    if cls is None:
        raise ConfigError(f'unknown attack type {kind!r}; registered: '
                          f'{sorted(ATTACKS.module_dict)}')
    try:
        return cls(**cfg)
    except TypeError as e:
        raise ConfigError(f'invalid arguments for attack {kind!r}: {e}') from None


__all__ = ['BaseAttack', 'build_attack', 'attack_class', 'derive_seed',
           'seeded_global_rng']
