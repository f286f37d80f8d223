"""Shared adversarial perturbations (Mummadi, Brox, Metzen, ICCV 2019)."""
from typing import Optional

import torch

from mmgat.registry import ATTACKS
from mmgat.utils.checks import check_int, is_real
from mmgat.utils.errors import ConfigError
from .pgd import PGD


@ATTACKS.register_module()
class SharedPGD(PGD):
    """PGD with one perturbation per heap of ``heap_size`` consecutive images.

    The batch of size d is split into d / heap_size heaps; each heap gets ONE
    perturbation (``1 x C x H x W``, added to every member) that maximises the heap's
    summed loss. ``heap_size=1`` is ordinary adversarial training and gives exactly
    the :class:`PGD` result for the same config and seed; ``heap_size=d`` approaches
    universal perturbations (shared adversarial training, arXiv 1812.03705).

    Only the adversarial images are clipped to [0, 255] (a shared perturbation cannot
    be clipped for every member at once), so members that saturate differently see
    slightly different effective perturbations there. With ``mask='background'``
    each member gets the shared perturbation times its own mask.

    Loss truncation (``kappa``) and label smoothing need per-example losses, which
    only the classification victim gives; for detection / segmentation they raise
    :class:`ConfigError` and the heap loss is the model's batch loss.

    Args:
        heap_size (int): Images per shared perturbation; must divide the batch.
        **pgd_options: ``eps``, ``alpha``, ``steps``, ``norm``, ``random_start``,
            ``mask``, ``seed``, as for :class:`PGD` (same defaults).
        kappa (float, optional): Clamp each example's loss at ``kappa`` (e.g.
            ``-math.log(0.2)``, from a reimplementation of the paper) so one example
            cannot dominate its heap. Defaults to None (no truncation).
        label_smoothing (float): Label smoothing of the per-example cross-entropy
            (classification). Defaults to 0.
        batch_size (int, optional): If given, checked against ``heap_size`` at
            build time; otherwise the check happens at the call.

    Example:
        >>> attack = dict(
        ...     type='mmgat.SharedPGD', heap_size=8, eps=8 / 255, alpha=4 / 255,
        ...     steps=4, kappa=-math.log(0.2), label_smoothing=0.1)
    """

    # Heap-shared perturbations (Mummadi et al.) lie in the same L-inf ball as PGD's
    # and become universal ones as the heap grows: a model trained with them has seen
    # both.
    families = ('pgd', 'universal')

    def __init__(self,
                 heap_size: int,
                 kappa: Optional[float] = None,
                 label_smoothing: float = 0.0,
                 batch_size: Optional[int] = None,
                 **pgd_options) -> None:
        super().__init__(**pgd_options)
        self.heap_size = check_int('heap_size', heap_size, low=1)
        if kappa is not None and (not is_real(kappa) or kappa <= 0):
            raise ConfigError(f'kappa must be None or a number > 0, got {kappa!r}')
        self.kappa = None if kappa is None else float(kappa)
        if not is_real(label_smoothing) or not 0.0 <= label_smoothing < 1.0:
            raise ConfigError(
                f'label_smoothing must be in [0, 1), got {label_smoothing!r}')
        self.label_smoothing = float(label_smoothing)
        if batch_size is not None:
            self._check_heap(int(batch_size))

    def _check_heap(self, batch_size: int) -> None:
        if batch_size % self.heap_size:
            raise ConfigError(f'heap_size={self.heap_size} does not divide the batch '
                              f'size {batch_size}')

    def perturb(self, victim, pixels: torch.Tensor, data_samples: list, *,
                generator: torch.Generator, iteration: int) -> torch.Tensor:
        self._check_heap(pixels.shape[0])
        if self.kappa is None and self.label_smoothing == 0:
            # Same loss as PGD: the gradient w.r.t. a shared perturbation sums the
            # members' gradients, i.e. it ascends the heap's summed loss.
            def loss_fn(adv):
                return victim.loss(adv, data_samples)
        else:
            if not victim.supports_per_sample_loss:
                raise ConfigError(
                    f'SharedPGD kappa / label_smoothing need per-example losses, which '
                    f'{type(victim).__name__} cannot give; unset them for this task')
            kappa = self.kappa

            def loss_fn(adv):
                losses = victim.per_sample_loss(
                    adv, data_samples, label_smoothing=self.label_smoothing)
                if kappa is not None:
                    losses = losses.clamp(max=kappa)
                return losses.sum()

        return self._run(victim, pixels, data_samples, generator,
                         heap_size=self.heap_size, loss_fn=loss_fn)
