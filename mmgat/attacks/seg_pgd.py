"""SegPGD (Gu, Zhao, Tresp, Torr, ECCV 2022): PGD on a segmentor's per-pixel loss that
first pushes the pixels still classified correctly."""

import torch

from mmgat.registry import ATTACKS
from .pgd import PGD
from .pixel_losses import per_image_mean, pixel_cross_entropy, require_pixel_logits


def segpgd_weight(step: int, steps: int) -> float:
    """``lambda_t = (t - 1) / (2 T)`` of step ``t = 1..T``: the weight of the wrongly
    classified pixels (0 at the first step, below 1/2 at the last)."""
    return (step - 1) / (2 * steps)


@ATTACKS.register_module()
class SegPGD(PGD):
    """PGD whose loss splits the pixels into correctly and wrongly classified ones.

    At step ``t`` of ``T`` the loss of each image is::

        (1 - lambda_t) * sum_correct(CE) / HW + lambda_t * sum_wrong(CE) / HW,
        lambda_t = (t - 1) / (2 T)

    where CE is the per-pixel cross-entropy of the segmentor's scores
    (:meth:`~mmgat.victims.SegmentorVictim.pixel_logits`), "correct" is decided by the
    current prediction, and ``HW`` counts the image's labelled pixels (ignored and
    padding pixels are in neither term). Early steps thus spend the budget on the
    pixels not yet fooled, where plain PGD's loss is dominated by those already wrong.
    The step, projection, clipping, mask and NaN handling are PGD's.

    Only segmentation victims (``supports_pixel_logits``) can be attacked; any other
    raises :class:`ConfigError`.

    Args:
        eps (float): Budget on the 0-1 scale. Defaults to 8/255.
        alpha (float): Step size on the 0-1 scale. Defaults to 2/255.
        steps (int): Number of steps ``T``. Defaults to 10.
        norm (str): ``'linf'`` or ``'l2'``. Defaults to ``'linf'``.
        random_start (bool): Start from a random point of the eps ball.
            Defaults to True.
        mask (str, optional): ``None`` or ``'background'``. Defaults to None.
        seed (int): Base seed of the random start. Defaults to 0.

    Example:
        >>> attack = dict(type='mmgat.SegPGD', eps=8 / 255, alpha=2 / 255, steps=10)
        >>> adv = ATTACKS.build(attack)(victim, pixels, samples, iteration=0)
    """

    # The threat model of PGD (an L-p ball of the pixels): a PGD-trained model has seen
    # it, and a SegPGD-trained one has seen PGD.
    families = ('pgd', )

    # The arguments are PGD's.

    def perturb(self, victim, pixels: torch.Tensor, data_samples: list, *,
                generator: torch.Generator, iteration: int) -> torch.Tensor:
        require_pixel_logits(victim, type(self).__name__)
        labels = victim.pixel_labels(data_samples, pixels.shape, device=pixels.device)
        step = 0

        def loss_fn(adv):
            # gradient_ascent evaluates the objective once per step, in order.
            nonlocal step
            step += 1
            weight = segpgd_weight(step, self.steps)
            logits = victim.pixel_logits(adv, data_samples)
            ce, valid = pixel_cross_entropy(logits, labels, victim.ignore_index)
            correct = (logits.detach().argmax(dim=1) == labels) & valid
            pixel_weights = torch.where(correct, 1 - weight, weight)
            return per_image_mean(ce * pixel_weights, valid).sum()

        return self._run(victim, pixels, data_samples, generator, heap_size=1,
                         loss_fn=loss_fn)


__all__ = ['SegPGD', 'segpgd_weight']
