"""Context-sensitive feature perturbations of one generator layer (granularity).

Dunn et al., "Evaluating Robustness to Context-Sensitive Feature Perturbations of
Different Granularities" (arXiv 2001.11055). The image is re-synthesised by a frozen
generator and an additive perturbation is put on the activations of ONE decoder layer:
early layers give coarse changes (shape, location), late layers fine ones (texture,
colour). Evaluating every layer gives the model's granularity profile.
"""
from typing import Optional

import torch

from mmgat.registry import ATTACKS
from mmgat.utils.checks import check_positive, check_steps
from mmgat.utils.errors import ConfigError
from .ascent import gradient_ascent
from .generator_attack import GeneratorAttack

LOSSES = ('auto', 'margin', 'task')


@ATTACKS.register_module()
class LayerActivationAttack(GeneratorAttack):
    """Perturb the activations of one decoder layer inside a std-scaled L2 ball.

    The offset added to layer ``layer`` is ``std[c] * u`` where ``std[c]`` is the
    channel's spread over data (the generator's running statistics) and ``u`` is
    optimised with Adam to raise the loss, then projected so that each image's
    ``||u||_2 / sqrt(numel(u)) <= radius``: the radius is the root-mean-square change
    in units of a channel's std, so one radius means the same for a 16 x 16 and a
    128 x 128 layer and a profile over layers compares like with like (the paper's
    unnormalised radius grows with the layer size).

    The loss is the Carlini-Wagner margin (best other logit - true logit, capped at
    ``kappa``) for classifiers and the task loss for detectors and segmentors
    (``loss='auto'``). The radius is fixed (the paper also grows it until the model
    fails to find a minimal radius; mmgat reports the metric at a fixed radius).

    Args:
        generator (dict): ``dict(config=..., checkpoint=...)`` of a trained
            :class:`mmgat.generators.StyleAutoEncoder`.
        layer (str): One of the generator's ``decoder_layers``.
        radius (float): RMS bound in units of the channel std. Defaults to 0.5
            *(assumed)*.
        steps (int): Adam steps. Defaults to 10.
        lr (float, optional): Adam learning rate in the same units; defaults to
            ``2.5 * radius / steps``. (The paper's 3e-3 - 4e-3 is for an unnormalised
            radius.)
        kappa (float): Margin cap of the classification loss. Defaults to 1.
        loss (str): ``'auto'``, ``'margin'`` (classifiers only) or ``'task'``.
        residual (bool): See :class:`GeneratorAttack`. Defaults to True.
        seed (int): Base seed. Defaults to 0.

    Example:
        >>> attack = dict(
        ...     type='mmgat.LayerActivationAttack',
        ...     generator=dict(config='configs/generators/style-ae_digitscenes.py',
        ...                    checkpoint='work_dirs/style-ae_digitscenes/generator.pth'),
        ...     layer='dec8_0', radius=0.5, steps=10)
        >>> # every layer at once: tools/test.py CONFIG CKPT --granularity ...
    """

    families = ('granularity', )

    def __init__(self,
                 generator: dict,
                 layer: str,
                 radius: float = 0.5,
                 steps: int = 10,
                 lr: Optional[float] = None,
                 kappa: float = 1.0,
                 loss: str = 'auto',
                 residual: bool = True,
                 seed: int = 0) -> None:
        self.radius = check_positive('radius', radius)
        self.steps = check_steps(steps)
        self.lr = 2.5 * self.radius / self.steps if lr is None else check_positive('lr', lr)
        self.kappa = check_positive('kappa', kappa)
        if loss not in LOSSES:
            raise ConfigError(f'unknown loss {loss!r}; expected one of {LOSSES}')
        self.loss = loss
        super().__init__(generator=generator, residual=residual, seed=seed)
        layers = list(self._generator.decoder_layers)
        if layer not in layers:
            raise ConfigError(f'unknown generator layer {layer!r}; the decoder layers '
                              f'are {layers}')
        self.layer = layer

    def _objective(self, victim, adv: torch.Tensor, data_samples: list) -> torch.Tensor:
        use_margin = self.loss == 'margin' or (
            self.loss == 'auto' and victim.supports_margin_loss)
        if use_margin:
            if not victim.supports_margin_loss:
                raise ConfigError(f"loss='margin' needs a classifier; "
                                  f'{type(victim).__name__} has no logits')
            return victim.margin_loss(adv, data_samples, kappa=self.kappa)
        return victim.loss(adv, data_samples)

    def project(self, u: torch.Tensor) -> torch.Tensor:
        """Scale each image's ``u`` back into the RMS ball of ``radius``."""
        rms = u.flatten(1).norm(dim=1) / (u[0].numel() ** 0.5)
        factor = (self.radius / rms.clamp_min(1e-12)).clamp(max=1.0)
        return u * factor.view(-1, *[1] * (u.dim() - 1))

    def perturb(self, victim, pixels: torch.Tensor, data_samples: list, *,
                generator: torch.Generator, iteration: int) -> torch.Tensor:
        gen = self.generator_on(pixels.device)
        x, fmt = self.to_generator(victim, pixels)
        with torch.no_grad():
            latents = self.detach_latents(gen.encode(x))
            reference = gen.decode(latents) if self.residual else None
        shape = gen.activation_shapes(latents)[self.layer]
        std = gen.activation_std(self.layer).to(pixels.device, pixels.dtype)
        std = std.view(1, -1, *[1] * (len(shape) - 2))
        u = torch.zeros(shape, device=pixels.device, dtype=pixels.dtype,
                        requires_grad=True)
        optimizer = torch.optim.Adam([u], lr=self.lr)

        def decode(offset):
            return self.compose(pixels, gen.decode(latents, {self.layer: std * offset}),
                                reference, fmt)

        def update(_, grad):  # Adam minimises: hand it the negated gradient
            u.grad = -grad
            optimizer.step()
            u.copy_(self.project(u))
            return u

        u = gradient_ascent(
            u, lambda offset: self._objective(victim, decode(offset), data_samples),
            update, self.steps, owner=type(self).__name__)
        with torch.no_grad():
            return decode(u)
