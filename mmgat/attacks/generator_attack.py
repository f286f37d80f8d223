"""What the attacks through a generator share: loading it, colour order, padding.

GAT's latent attack and the generator-layer (granularity) attack both re-synthesise the
victim's images with a frozen :class:`mmgat.generators.StyleAutoEncoder` and change
something inside it. The generator works on RGB pixels whose sides are multiples of its
``size_divisor``; the victim's pixels may be BGR (a model without ``bgr_to_rgb``) and of
any size, so they are converted and padded here and converted back afterwards.
"""
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F

from mmgat.utils.errors import ConfigError
from .base_attack import BaseAttack


def check_generator_cfg(generator) -> dict:
    """Validate ``generator=dict(config=..., checkpoint=...)``."""
    if not isinstance(generator, dict) or not {'config', 'checkpoint'} <= set(generator):
        raise ConfigError(
            'generator must be dict(config=<generator config file>, checkpoint=<its '
            "generator.pth>), e.g. dict(config='configs/generators/"
            "style-ae_digitscenes.py', checkpoint='work_dirs/style-ae_digitscenes/"
            f"generator.pth'); got {generator!r}")
    unknown = set(generator) - {'config', 'checkpoint'}
    if unknown:
        raise ConfigError(f'unknown generator option(s) {sorted(unknown)}; expected '
                          'config and checkpoint')
    return dict(generator)


class GeneratorAttack(BaseAttack):
    """Base of the attacks that perturb the inside of a frozen generator (latent space).

    They return pixels (detached, clipped to [0, 255]) like a pixel attack, but their
    budget lives in the generator, so no pixel budget (eps / norm / mask) applies. A
    suite fills its ``generator`` into the config of an attack of this kind that names
    none (:attr:`needs_generator`).

    The generator is loaded when the attack is built (so a missing checkpoint fails
    before training starts, with the command that makes it) and moved to the device
    of the pixels at the first call.

    Args:
        generator (dict): ``dict(config=..., checkpoint=...)`` of a trained
            :class:`mmgat.generators.StyleAutoEncoder` (``tools/train_generator.py``
            writes ``WORK_DIR/generator.pth``).
        residual (bool): Keep what the generator cannot reconstruct: the adversarial
            image is ``pixels + decode(perturbed) - decode(unperturbed)`` instead of
            ``decode(perturbed)``, so an unperturbed attack returns the input exactly
            and fine detail the generator misses (and the labels that rely on it)
            stays. ``False`` gives the paper's pure re-synthesis ``x = g(y, eta)``.
            Defaults to True *(mmgat's choice)*.
        seed (int): Base seed of the attack's randomness.
    """

    #: The config of this attack needs ``generator=dict(config=..., checkpoint=...)``.
    needs_generator = True

    def __init__(self, generator: dict, residual: bool = True, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.generator_cfg = check_generator_cfg(generator)
        self.residual = bool(residual)
        from mmgat.generators import load_generator
        self._generator = load_generator(self.generator_cfg['config'],
                                         self.generator_cfg['checkpoint'])

    def generator_on(self, device: torch.device):
        """The frozen generator on ``device`` (moved once; eval mode)."""
        gen = self._generator
        first = next(gen.parameters(), None)
        if first is not None and first.device != device:
            gen.to(device)
        gen.eval()
        return gen

    @property
    def generator(self):
        return self._generator

    def finish(self, result: torch.Tensor) -> torch.Tensor:
        return result.detach().clamp(0, 255)

    # ------------------------------------------------------------------ pixel format
    def to_generator(self, victim, pixels: torch.Tensor) -> Tuple[torch.Tensor, dict]:
        """Victim pixels -> RGB pixels padded to the generator's size divisor."""
        if pixels.shape[1] != 3:
            raise ConfigError(f'{type(self).__name__} needs 3-channel images, got '
                              f'{pixels.shape[1]} channels')
        rgb = victim.channel_order(pixels.shape[1]) == 'rgb'
        x = pixels if rgb else pixels.flip(1)
        div = int(getattr(self._generator, 'size_divisor', 1))
        h, w = x.shape[-2:]
        ph, pw = (-h) % div, (-w) % div
        if ph or pw:
            # Replicate, not zeros: a black border would change the generator's
            # reading of the image near the edge.
            x = F.pad(x, (0, pw, 0, ph), mode='replicate')
        return x, dict(rgb=rgb, size=(h, w))

    @staticmethod
    def from_generator(x: torch.Tensor, fmt: dict) -> torch.Tensor:
        """Inverse of :meth:`to_generator` (crop, channel order)."""
        h, w = fmt['size']
        x = x[..., :h, :w]
        return x if fmt['rgb'] else x.flip(1)

    def compose(self, pixels: torch.Tensor, decoded: torch.Tensor,
                reference: Optional[torch.Tensor], fmt: dict) -> torch.Tensor:
        """The adversarial pixels from a decoded image (differentiable).

        ``reference`` is the unperturbed reconstruction (used with ``residual``).
        """
        out = self.from_generator(decoded, fmt)
        if self.residual:
            out = pixels + out - self.from_generator(reference, fmt)
        return out.clamp(0, 255)

    @staticmethod
    def detach_latents(latents: Dict[str, Dict[str, torch.Tensor]]) -> dict:
        return {level: {k: v.detach() for k, v in group.items()}
                for level, group in latents.items()}
