"""Attack a dataloader batch in place: what the hook does before a step, and the suite too.

:func:`attack_batch` turns ``data_batch['inputs']`` into pixels through the victim (the
model's own data preprocessor), runs the attack and writes the result back as the
dataloader would have given it; for a :class:`~mmgat.attacks.FeatureAttack` it leaves
the images and attaches the feature perturbation to the model instead, returning the
handle to remove after the step.
"""
import copy

import torch

from mmgat.utils.errors import ConfigError
from .feature_attack import FeatureAttack

#: How the adversarial images enter a training batch.
MODES = ('replace', 'append')


def attack_batch(attack, victim, data_batch: dict, *, mode: str = 'replace',
                 ratio: float = 1.0, iteration: int = 0):
    """Attack the first ``round(ratio * N)`` images of a batch, in place.

    Args:
        attack: A built attack (:class:`~mmgat.attacks.BaseAttack`).
        victim: The victim of the bare model (:func:`mmgat.victims.build_victim`).
        data_batch (dict): ``dict(inputs=..., data_samples=...)`` from a dataloader;
            modified in place.
        mode (str): ``'replace'`` the attacked images, or ``'append'`` adversarial
            copies (with deep-copied data samples) after the batch.
        ratio (float): Fraction of the batch attacked, in (0, 1].
        iteration (int): Passed to the attack (seed, schedules).

    Returns:
        The handle of an attached feature perturbation (call ``.remove()`` once the
        step is done), or None.
    """
    if not isinstance(data_batch, dict):
        raise ConfigError('an attack needs dict batches (inputs / data_samples), got '
                          f'{type(data_batch).__name__}')
    num = len(data_batch['inputs'])
    count = int(round(ratio * num))
    if count == 0:
        return None
    pixels, samples, info = victim.to_pixels(data_batch)
    result = attack(victim, pixels[:count], samples[:count], iteration=iteration)
    if isinstance(attack, FeatureAttack):
        return _arm_feature_perturbation(result, victim.model, data_batch, count, mode)
    images = _perturbed_inputs(data_batch['inputs'], victim, pixels[:count], result,
                               info)
    _write_back(data_batch, images, mode)
    return None


def _arm_feature_perturbation(perturbation, model, data_batch: dict, count: int,
                              mode: str):
    """Attach a feature perturbation for the batch's step.

    The images stay as they are; in ``'append'`` mode clean copies of the attacked
    images (and their data samples) are appended, and only those rows of the layer's
    output are perturbed, so the step's loss is the mean of the clean and the
    adversarial loss.
    """
    num = len(data_batch['inputs'])
    if mode == 'append':
        copies = [img.clone() for img in data_batch['inputs'][:count]]
        _write_back(data_batch, copies, 'append')
        rows = slice(num, num + count)
    else:
        rows = slice(0, count)
    return perturbation.attach(model, rows)


def _perturbed_inputs(inputs, victim, pixels: torch.Tensor, adv: torch.Tensor,
                      info: dict) -> list:
    """The dataloader's images plus the attack's perturbation, as float tensors.

    Adding the perturbation to the original images (instead of using the
    un-normalised pixels directly) keeps unperturbed pixels bit-identical to the
    input: un-normalising is exact only up to float rounding.
    """
    clean = victim.from_pixels(pixels, info)
    out = []
    for orig, new, old in zip(inputs, victim.from_pixels(adv, info), clean):
        orig = orig.to(device=new.device, dtype=torch.float32)
        out.append((orig + (new - old)).clamp_(0, 255))
    return out


def _write_back(data_batch: dict, images: list, mode: str) -> None:
    """Put adversarial images into the batch (in place) as the dataloader would."""
    inputs = data_batch['inputs']
    count = len(images)
    if isinstance(inputs, torch.Tensor):
        adv = torch.stack(images).to(inputs.device)
        if mode == 'replace':
            new = inputs.float().clone()  # uint8 cannot hold the perturbation
            new[:count] = adv
        else:
            new = torch.cat([inputs.float(), adv])
        data_batch['inputs'] = new
    elif mode == 'replace':
        data_batch['inputs'] = list(images) + list(inputs[count:])
    else:
        data_batch['inputs'] = list(inputs) + list(images)
    if mode == 'append':
        samples = list(data_batch['data_samples'])
        data_batch['data_samples'] = samples + [
            copy.deepcopy(s) for s in samples[:count]]


__all__ = ['attack_batch', 'MODES']
