"""CosPGD (Agnihotri, Jung, Keuper, ICML 2024): PGD on a per-pixel loss weighted by
how close each pixel's prediction still is to its label."""

import torch
import torch.nn.functional as F

from mmgat.registry import ATTACKS
from .pgd import PGD
from .pixel_losses import per_image_mean, pixel_cross_entropy, require_pixel_logits


def cosine_to_target(logits: torch.Tensor, labels: torch.Tensor,
                     valid: torch.Tensor) -> torch.Tensor:
    """``N x H x W``: cosine similarity between ``softmax(logits)`` and the one-hot
    label of each pixel (``p_y / ||p||_2``), 0 on pixels that are not ``valid``."""
    probs = F.softmax(logits, dim=1)
    safe = torch.where(valid, labels, torch.zeros_like(labels))
    target = probs.gather(1, safe[:, None])[:, 0]
    # The one-hot vector has norm 1, so the cosine is p_y / ||p||.
    return target / probs.norm(dim=1).clamp_min(1e-12) * valid


@ATTACKS.register_module()
class CosPGD(PGD):
    """PGD on each pixel's cross-entropy weighted by its cosine to the target.

    The loss of an image is the mean over its labelled pixels of
    ``cos(softmax(z), onehot(y)) * CE(z, y)``, with the cosine detached (a weight, not
    a term to optimise): pixels already fooled get little weight, so the budget goes
    to those still predicted right. Ignored and padding pixels do not count. The
    step, projection, clipping, mask and NaN handling are PGD's.

    Only segmentation victims (``supports_pixel_logits``) can be attacked; any other
    raises :class:`ConfigError`.

    Args:
        eps (float): Budget on the 0-1 scale. Defaults to 8/255.
        alpha (float): Step size on the 0-1 scale. Defaults to 2/255.
        steps (int): Number of steps. Defaults to 10.
        norm (str): ``'linf'`` or ``'l2'``. Defaults to ``'linf'``.
        random_start (bool): Start from a random point of the eps ball.
            Defaults to True.
        mask (str, optional): ``None`` or ``'background'``. Defaults to None.
        seed (int): Base seed of the random start. Defaults to 0.

    Example:
        >>> attack = dict(type='mmgat.CosPGD', eps=8 / 255, alpha=2 / 255, steps=10)
        >>> adv = ATTACKS.build(attack)(victim, pixels, samples, iteration=0)
    """

    # The threat model of PGD (an L-p ball of the pixels).
    families = ('pgd', )

    # The arguments are PGD's.

    def perturb(self, victim, pixels: torch.Tensor, data_samples: list, *,
                generator: torch.Generator, iteration: int) -> torch.Tensor:
        require_pixel_logits(victim, type(self).__name__)
        labels = victim.pixel_labels(data_samples, pixels.shape, device=pixels.device)

        def loss_fn(adv):
            logits = victim.pixel_logits(adv, data_samples)
            ce, valid = pixel_cross_entropy(logits, labels, victim.ignore_index)
            weight = cosine_to_target(logits.detach(), labels, valid)
            return per_image_mean(ce * weight, valid).sum()

        return self._run(victim, pixels, data_samples, generator, heap_size=1,
                         loss_fn=loss_fn)


__all__ = ['CosPGD', 'cosine_to_target']
