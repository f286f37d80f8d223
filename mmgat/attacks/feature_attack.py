"""Attacks that perturb a layer's output instead of the pixels (AdvBN)."""
from .base_attack import BaseAttack


class FeatureAttack(BaseAttack):
    """Base of the attacks whose result is a perturbation of the model's features.

    The call returns an object with ``attach(model, rows=None) -> handle`` (a
    :class:`~mmgat.attacks.feature_stats.FeatureStatsPerturbation`): the images stay as
    they are and :func:`mmgat.attacks.attack_batch` applies the perturbation during the
    batch's train / test step (through a forward hook), removing it afterwards.
    """
