"""Generative adversarial training's attack: signed-gradient steps on generator latents.

Yang et al., "Robustness and Generalization via Generative Adversarial Training"
(ICCV 2021). The image is encoded into the multi-level latents of a style autoencoder;
perturbing the coarse latents changes layout and shape, the mid ones parts and texture,
the fine ones colour and fine detail. The labels stay those of the input image.
"""
from typing import Dict, Optional, Sequence, Union

import torch

from mmgat.registry import ATTACKS
from mmgat.utils.checks import check_number, check_steps, is_real
from mmgat.utils.errors import ConfigError
from .ascent import gradient_ascent
from .generator_attack import GeneratorAttack
from .lp_budget import draw

#: Levels of the generator's latent space, coarse to fine.
LEVELS = ('coarse', 'mid', 'fine')
#: How a call picks the levels it perturbs.
LEVEL_SAMPLING = ('random', 'cycle', 'all')
#: Default budgets in units of each latent's spread over data *(assumed)*. At 1.0 the
#: fine level's noise maps already make some DigitScenes digits unreadable (labels no
#: longer valid); at 0.5 every level changes the image visibly and digits stay legible.
DEFAULT_EPS = dict(coarse=0.5, mid=0.5, fine=0.5)


def _check_levels(levels) -> tuple:
    if isinstance(levels, str):
        levels = (levels, )
    levels = tuple(levels)
    if not levels or any(level not in LEVELS for level in levels):
        raise ConfigError(f'levels must be a non-empty subset of {LEVELS}, got {levels!r}')
    if len(set(levels)) != len(levels):
        raise ConfigError(f'levels has duplicates: {levels!r}')
    return levels


def _check_budget(name: str, value, levels: tuple, default: Optional[dict]) -> dict:
    """A per-level budget dict from a number or a dict (missing levels: default)."""
    if is_real(value):
        value = {level: value for level in levels}
    elif isinstance(value, dict):
        unknown = set(value) - set(LEVELS)
        if unknown:
            raise ConfigError(f'{name} has unknown level(s) {sorted(unknown)}; '
                              f'levels are {LEVELS}')
        value = {level: value.get(level, (default or {}).get(level))
                 for level in levels}
    else:
        raise ConfigError(f'{name} must be a number or a dict level -> number, got '
                          f'{value!r}')
    for level, v in value.items():
        if v is None:
            raise ConfigError(f'{name} gives no value for level {level!r}')
    return {level: check_number(f'{name}[{level!r}]', v, 0.0)
            for level, v in value.items()}


@ATTACKS.register_module()
class LatentAttack(GeneratorAttack):
    """GAT: signed-gradient ascent of the task loss on a generator's latents.

    Each call encodes the (RGB) pixels, then takes ``steps`` signed-gradient steps on
    the latents of the chosen level(s) through the frozen decoder, keeping each latent
    ``z`` inside ``|delta| <= eps[level] * std(z)`` elementwise, where ``std(z)`` is
    the latent's spread over the generator's training data (its running statistics).
    Budgets relative to the spread make one number mean the same for a style vector
    and a noise map.

    ``level_sampling`` decides which levels a call perturbs: ``'random'`` draws one of
    ``levels`` per call from the seeded generator (training then sees low-, mid- and
    high-level alterations over the run), ``'cycle'`` takes them in turn by iteration,
    ``'all'`` perturbs all of them together. The level used last is in
    :attr:`last_level`.

    Args:
        generator (dict): ``dict(config=..., checkpoint=...)`` of a trained
            :class:`mmgat.generators.StyleAutoEncoder`.
        levels (str | Sequence[str]): Levels that may be perturbed, from
            ``('coarse', 'mid', 'fine')``. Defaults to all three.
        level_sampling (str): ``'random'``, ``'cycle'`` or ``'all'``.
            Defaults to ``'random'``.
        eps (float | dict): Budget per level in units of the latent's std; a number
            applies to every level. Defaults to 0.5 for every level *(assumed)*.
        alpha (float | dict, optional): Step size per level, same units; defaults to
            ``2.5 * eps / steps`` (Madry et al.'s rule).
        steps (int): Signed-gradient steps. Defaults to 3 *(assumed: the paper's
            count is not public; 3-5 is the usual range)*.
        random_start (bool): Start from a uniform random point of the budget.
            Defaults to False (the paper starts from the image's own latents).
        residual (bool): See :class:`GeneratorAttack`. Defaults to True.
        seed (int): Base seed (level draw, random start). Defaults to 0.

    Examples:
        >>> # GAT training of a detector: half of each batch re-synthesised adversarially
        >>> custom_hooks = [
        ...     dict(type='mmgat.AdversarialHook', mode='append', ratio=0.5,
        ...          attack=dict(
        ...              type='mmgat.LatentAttack',
        ...              generator=dict(
        ...                  config='configs/generators/style-ae_digitscenes.py',
        ...                  checkpoint='work_dirs/style-ae_digitscenes/generator.pth'),
        ...              levels=('coarse', 'mid', 'fine'), level_sampling='random',
        ...              steps=3))
        ... ]
        >>> # evaluation under fine-level (colour / detail) alterations only
        >>> attack = dict(type='mmgat.LatentAttack', generator=..., levels='fine',
        ...               eps=1.0, steps=5)
    """

    families = ('gat', )

    def __init__(self,
                 generator: dict,
                 levels: Union[str, Sequence[str]] = LEVELS,
                 level_sampling: str = 'random',
                 eps: Union[float, Dict[str, float]] = None,
                 alpha: Union[float, Dict[str, float], None] = None,
                 steps: int = 3,
                 random_start: bool = False,
                 residual: bool = True,
                 seed: int = 0) -> None:
        self.levels = _check_levels(levels)
        if level_sampling not in LEVEL_SAMPLING:
            raise ConfigError(f'unknown level_sampling {level_sampling!r}; expected one '
                              f'of {LEVEL_SAMPLING}')
        self.level_sampling = level_sampling
        self.steps = check_steps(steps)
        self.eps = _check_budget('eps', DEFAULT_EPS if eps is None else eps,
                                 self.levels, DEFAULT_EPS)
        if alpha is None:
            self.alpha = {k: 2.5 * v / self.steps for k, v in self.eps.items()}
        else:
            self.alpha = _check_budget('alpha', alpha, self.levels, None)
        self.random_start = bool(random_start)
        self.last_level = None
        super().__init__(generator=generator, residual=residual, seed=seed)

    def choose_levels(self, generator: torch.Generator, iteration: int) -> tuple:
        """The levels this call perturbs (drawn from ``generator`` for 'random')."""
        if self.level_sampling == 'all':
            return self.levels
        if self.level_sampling == 'cycle':
            return (self.levels[iteration % len(self.levels)], )
        index = int(torch.randint(len(self.levels), (1, ), generator=generator,
                                  device=generator.device))
        return (self.levels[index], )

    def perturb(self, victim, pixels: torch.Tensor, data_samples: list, *,
                generator: torch.Generator, iteration: int) -> torch.Tensor:
        gen = self.generator_on(pixels.device)
        chosen = self.choose_levels(generator, iteration)
        self.last_level = '+'.join(chosen)
        x, fmt = self.to_generator(victim, pixels)
        with torch.no_grad():
            latents = self.detach_latents(gen.encode(x))
            reference = gen.decode(latents) if self.residual else None
        missing = [level for level in chosen if level not in latents]
        if missing:
            raise ConfigError(f'the generator has no latents of level(s) {missing}; it '
                              f'gives {sorted(latents)}')
        # The perturbed latents, their bounds and step sizes, in one flat list.
        names, bounds, steps, deltas = [], [], [], []
        for level in chosen:
            for name, z in latents[level].items():
                spread = gen.latent_std(name).to(device=z.device, dtype=z.dtype)
                bound = (self.eps[level] * spread).expand_as(z)
                delta = torch.zeros_like(z)
                if self.random_start:
                    delta = (draw(z.shape, generator, z) * 2 - 1) * bound
                names.append((level, name))
                bounds.append(bound)
                steps.append(self.alpha[level] * spread)
                deltas.append(delta)

        def decode(current):
            moved = {level: dict(group) for level, group in latents.items()}
            for (level, name), delta in zip(names, current):
                moved[level][name] = latents[level][name] + delta
            return self.compose(pixels, gen.decode(moved), reference, fmt)

        def update(current, grads):  # signed steps, each latent inside its bound
            return [torch.maximum(torch.minimum(d + s * g.sign(), b), -b)
                    for d, g, s, b in zip(current, grads, steps, bounds)]

        deltas = gradient_ascent(
            deltas, lambda current: victim.loss(decode(current), data_samples), update,
            self.steps, owner=type(self).__name__)
        with torch.no_grad():
            return decode(deltas)
