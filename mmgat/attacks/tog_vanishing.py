"""TOG-vanishing (Chow et al. 2020): make a detector see no objects at all."""

import torch
from mmengine.structures import InstanceData

from mmgat.registry import ATTACKS
from mmgat.utils.errors import ConfigError
from .pgd import PGD


def _empty_like(instances, device: torch.device) -> InstanceData:
    """``instances`` with zero rows: every field kept, with its type, dtype and device
    (``HorizontalBoxes``, masks...), so the loss sees the structure it was built for.
    A sample without instances gets zero ``bboxes`` (float) and ``labels`` (long)."""
    if instances is not None and 'bboxes' in instances and 'labels' in instances:
        return instances[:0] if len(instances) else instances
    return InstanceData(bboxes=torch.zeros(0, 4, device=device),
                        labels=torch.zeros(0, dtype=torch.long, device=device))


def without_objects(data_samples: list, device: torch.device) -> list:
    """Copies of detection samples whose ``gt_instances`` (and ``gt_ignore_instances``)
    are empty; the other fields and the metainfo are shared, not copied."""
    out = []
    for sample in data_samples:
        empty = sample.__class__(metainfo=sample.metainfo)
        for key in sample.keys():
            empty.set_field(sample.get(key), key)
        empty.gt_instances = _empty_like(sample.get('gt_instances'), device)
        if 'gt_ignore_instances' in sample:
            empty.gt_ignore_instances = _empty_like(sample.gt_ignore_instances, device)
        out.append(empty)
    return out


@ATTACKS.register_module()
class TOGVanishing(PGD):
    """Projected gradient *descent* of the detector's loss against empty ground truth.

    Every data sample is copied with an empty ``gt_instances`` (zero boxes and labels,
    same types), so the detector's own loss assigns every anchor / proposal to the
    background; descending it makes objects vanish. mmdet trains on images without
    objects, so this loss is defined, finite and differentiable (checked for mmdet
    3.3): Faster R-CNN's RPN and RoI classification losses push every anchor and
    sampled proposal to background and its box losses are 0; RetinaNet's focal loss
    does the same (normalised by ``max(num_pos, 1) = 1`` per image, so its scale is
    unlike the clean loss's; the signed / normalised steps only use its direction).
    The victim's ``loss_keys`` still select the entries. Steps, projection, clipping,
    mask and NaN handling are PGD's.

    Only detection victims can be attacked; any other raises :class:`ConfigError`.

    Args:
        eps (float): Budget on the 0-1 scale. Defaults to 8/255.
        alpha (float): Step size on the 0-1 scale. Defaults to 2/255.
        steps (int): Number of steps. Defaults to 10.
        norm (str): ``'linf'`` or ``'l2'``. Defaults to ``'linf'``.
        random_start (bool): Start from a random point of the eps ball.
            Defaults to True.
        mask (str, optional): ``None`` or ``'background'`` (outside the real boxes).
            Defaults to None.
        seed (int): Base seed of the random start. Defaults to 0.

    Example:
        >>> attack = dict(type='mmgat.TOGVanishing', eps=8 / 255, alpha=2 / 255,
        ...               steps=10)
        >>> adv = ATTACKS.build(attack)(victim, pixels, samples, iteration=0)
    """

    # The threat model of PGD (an L-p ball of the pixels).
    families = ('pgd', )

    # The arguments are PGD's.

    def perturb(self, victim, pixels: torch.Tensor, data_samples: list, *,
                generator: torch.Generator, iteration: int) -> torch.Tensor:
        task = getattr(victim, 'task', '')
        if task != 'detection':
            raise ConfigError(f'TOGVanishing is a detection attack; '
                              f'{type(victim).__name__} is a {task or "non-detection"} '
                              'victim')
        # The region (mask='background') comes from the real boxes, not the empty ones.
        empty = without_objects(data_samples, pixels.device)
        return self._run(victim, pixels, data_samples, generator, heap_size=1,
                         loss_fn=lambda adv: -victim.loss(adv, empty))


__all__ = ['TOGVanishing', 'without_objects']
