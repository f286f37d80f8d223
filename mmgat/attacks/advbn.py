"""AdvBN (Shu et al., NeurIPS 2021): worst-case feature statistics inside the backbone."""
import torch

from mmgat.registry import ATTACKS
from mmgat.utils.checks import check_positive, check_steps
from mmgat.utils.errors import ConfigError
from .ascent import gradient_ascent
from .feature_attack import FeatureAttack
from .feature_stats import FeatureStatsPerturbation, check_feature_map, find_layer


class _LayerReached(Exception):
    """Raised by the probe hook to stop a forward pass at the perturbed layer."""

    def __init__(self, output) -> None:
        super().__init__()
        self.output = output


@ATTACKS.register_module()
class AdvBN(FeatureAttack):
    """Find the per-channel mean / std change of a layer's output that most hurts the model.

    The layer's output ``f`` becomes ``beta * (f - mu) + alpha * mu`` (new mean
    ``alpha * mu``, new std ``beta * sigma``; :mod:`mmgat.attacks.feature_stats`), with
    ``alpha, beta`` one value per channel shared by the batch, both starting at 1.
    ``steps`` signed-gradient ascent steps of ``step_size`` on the model's task loss
    (through the layers after ``layer``, model in eval mode), each followed by a clamp
    to ``[1 - tau, 1 + tau]``. Defaults are the official code's: cut after ResNet
    ``layer1``, 6 steps of 0.2, tau 1.1.

    Unlike the pixel attacks it returns no pixels but a
    :class:`~mmgat.attacks.feature_stats.FeatureStatsPerturbation` (a
    :class:`~mmgat.attacks.FeatureAttack`): :class:`mmgat.hooks.AdversarialHook` (and
    the robustness suite) apply it to the layer during the next train / test step of
    the batch and remove it afterwards.

    Args:
        layer (str): Dotted name of the module whose output is perturbed, e.g.
            ``'backbone.layer1'`` (mmdet / mmseg ResNets) or ``'backbone.layer2'``.
        steps (int): Ascent steps. Defaults to 6.
        step_size (float): Step on ``alpha`` and ``beta``. Defaults to 0.2.
        tau (float): ``alpha, beta`` stay in ``[1 - tau, 1 + tau]``. Defaults to 1.1.
        seed (int): Seeds the global RNG during the search (mmdet's box samplers draw
            from it), so a search is reproducible.

    Examples:
        >>> # AdvBN training: every batch clean + with adversarial layer1 statistics
        >>> custom_hooks = [
        ...     dict(type='mmgat.AdversarialHook',
        ...          attack=dict(type='mmgat.AdvBN', layer='backbone.layer1',
        ...                      steps=6, step_size=0.2, tau=1.1),
        ...          mode='append')
        ... ]
    """

    families = ('advbn', )

    def __init__(self,
                 layer: str = 'backbone.layer1',
                 steps: int = 6,
                 step_size: float = 0.2,
                 tau: float = 1.1,
                 seed: int = 0) -> None:
        if not isinstance(layer, str) or not layer:
            raise ConfigError(f'layer must be a module name such as "backbone.layer1", '
                              f'got {layer!r}')
        self.layer = layer
        self.steps = check_steps(steps)
        self.step_size = check_positive('step_size', step_size)
        self.tau = check_positive('tau', tau)
        super().__init__(seed=seed)

    def perturb(self, victim, pixels: torch.Tensor, data_samples: list, *,
                generator: torch.Generator, iteration: int) -> FeatureStatsPerturbation:
        model = victim.model
        channels = self._channels(victim, pixels, data_samples)
        params = pixels.new_ones(2, channels)  # rows: alpha, beta

        def objective(params: torch.Tensor) -> torch.Tensor:
            perturbation = FeatureStatsPerturbation(self.layer, params[0], params[1])
            with perturbation.applied(model):
                return victim.loss(pixels, data_samples)

        params = gradient_ascent(
            params, objective,
            lambda p, grad: (p + self.step_size * grad.sign()).clamp(1 - self.tau,
                                                                     1 + self.tau),
            self.steps, owner=type(self).__name__)
        return FeatureStatsPerturbation(self.layer, params[0], params[1])

    def _channels(self, victim, pixels: torch.Tensor, data_samples: list) -> int:
        """The layer's channel count, from a forward pass stopped at the layer."""
        module = find_layer(victim.model, self.layer)

        def stop(_module, _args, output):
            raise _LayerReached(output)

        handle = module.register_forward_hook(stop)
        try:
            with torch.no_grad():
                victim.loss(pixels, data_samples)
        except _LayerReached as reached:
            output = reached.output
        else:
            raise ConfigError(f'{type(victim.model).__name__}.loss never ran '
                              f'{self.layer!r}: AdvBN needs a layer on the loss path')
        finally:
            handle.remove()
        return int(check_feature_map(output, self.layer).shape[1])
