"""Attacks: registered in ``mmgat.registry.ATTACKS``, one algorithm per file.

Each is called as ``attack(victim, pixels, data_samples, iteration=...)`` and returns
adversarial pixels in [0, 255] (see :class:`BaseAttack`), except the feature attack
(``space = 'features'``: :class:`AdvBN`), which returns a perturbation of a layer's
output that :class:`mmgat.hooks.AdversarialHook` applies during the model's forward.
"""
from .base_attack import (NORMS, BaseAttack, build_attack, check_alpha, check_eps,
                          check_norm, check_steps, derive_seed, seeded_global_rng)
from .masks import MASK_MODES, apply_region, check_mask_mode, perturbation_region
from .pgd import FGSM, PGD
from .shared_pgd import SharedPGD
from .universal import UniversalPerturbation  # noqa: F401
from .perceptual import PerceptualAttack  # noqa: F401
from .recolor import ReColor  # noqa: F401
from .spatial_flow import SpatialFlow  # noqa: F401
from .generator_attack import GeneratorAttack
from .latent import LatentAttack
from .layer_activation import LayerActivationAttack
from .feature_stats import FeatureStatsPerturbation, perturb_feature_stats
from .advbn import AdvBN

__all__ = [
    'BaseAttack', 'PGD', 'FGSM', 'SharedPGD', 'GeneratorAttack', 'LatentAttack',
    'LayerActivationAttack', 'AdvBN', 'FeatureStatsPerturbation',
    'perturb_feature_stats', 'build_attack', 'derive_seed',
    'seeded_global_rng', 'check_eps', 'check_alpha', 'check_steps', 'check_norm',
    'NORMS', 'MASK_MODES', 'check_mask_mode', 'perturbation_region', 'apply_region'
]
