"""Victim adapter for mmgat's image classifier."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F

from mmgat.utils.errors import ConfigError
from .base_victim import BaseVictim


class ClassifierVictim(BaseVictim):
    """Adapter for :class:`mmgat.models.ImageClassifier`.

    The attack loss is the model's cross-entropy (``loss_cls``). Per-example losses
    (:meth:`per_sample_loss`, used by SharedPGD's loss truncation) come from the
    logits of ``mode='tensor'``.

    The background is ``~gt_fg_mask`` of each :class:`~mmgat.structures.ClsDataSample`
    (plus the batch padding); a sample without ``gt_fg_mask`` cannot give one.

    Example:
        >>> victim = build_victim(classifier)
        >>> pixels, samples, info = victim.to_pixels(data_batch)
        >>> losses = victim.per_sample_loss(pixels, samples, label_smoothing=0.1)
    """

    task = 'classification'

    supports_per_sample_loss = True
    supports_margin_loss = True

    def logits(self, pixels: torch.Tensor, data_samples: list) -> torch.Tensor:
        """Class scores ``N x K`` (differentiable w.r.t. pixels)."""
        inputs = self.normalize(pixels)
        with self.mixed_precision(pixels):
            logits = self.model(inputs, data_samples, mode='tensor')
        return logits.float()

    @staticmethod
    def labels(data_samples: list, device: torch.device) -> torch.Tensor:
        """Ground-truth labels ``[N]``."""
        labels = torch.cat([s.gt_label.reshape(1) for s in data_samples])
        return labels.to(device=device, dtype=torch.long)

    def per_sample_loss(self, pixels: torch.Tensor, data_samples: list,
                        label_smoothing: float = 0.0) -> torch.Tensor:
        """Cross-entropy of each example, shape ``[N]`` (differentiable)."""
        logits = self.logits(pixels, data_samples)
        return F.cross_entropy(logits, self.labels(data_samples, logits.device),
                               reduction='none', label_smoothing=label_smoothing)

    def margin_loss(self, pixels: torch.Tensor, data_samples: list,
                    kappa: float = 1.0) -> torch.Tensor:
        """Carlini-Wagner margin to maximise: ``min(best other - true logit, kappa)``.

        Summed over the batch; a sample stops pushing once it is misclassified by
        ``kappa``, so the budget goes to the others.
        """
        logits = self.logits(pixels, data_samples)
        labels = self.labels(data_samples, logits.device)
        true = logits.gather(1, labels[:, None])[:, 0]
        others = logits.scatter(1, labels[:, None], float('-inf'))
        return (others.max(dim=1).values - true).clamp(max=kappa).sum()

    def background_mask(self, data_samples: list, shape: Sequence[int],
                        device: Optional[torch.device] = None) -> torch.Tensor:
        """1 where ``gt_fg_mask`` is False or on padding, 0 on the object."""
        masks = []
        for i, sample in enumerate(data_samples):
            if 'gt_fg_mask' not in sample:
                raise ConfigError(
                    f'classification sample {i} has no gt_fg_mask: this task cannot '
                    'provide a background mask; load the foreground masks in the '
                    'pipeline or drop mask="background" from the attack')
            h, w = self.valid_shape(sample, shape)
            # Padding is marked foreground=0 (False), i.e. background.
            fg = self._fit_label_map(sample.gt_fg_mask.long(), (h, w), shape, 0)
            masks.append((fg == 0).to(device=device, dtype=torch.float32))
        return torch.stack(masks)[:, None]
