"""Attacks: registered in ``mmgat.registry.ATTACKS``, one algorithm per file.

Each is called as ``attack(victim, pixels, data_samples, iteration=...)``
(:class:`BaseAttack` owns the call); what it returns depends on its base class:
:class:`PixelAttack` and :class:`GeneratorAttack` return adversarial pixels in
[0, 255], :class:`FeatureAttack` (AdvBN) a perturbation of a layer's output.
:func:`attack_batch` applies any of them to a dataloader batch.
"""
from .ascent import drop_non_finite, finite_rows, gradient_ascent, loss_gradients
from .base_attack import (BaseAttack, attack_class, build_attack, derive_seed,
                          seeded_global_rng)
from .lp_budget import (NORMS, check_alpha, check_eps, check_norm, lp_direction,
                        lp_project, lp_random_start)
from .masks import MASK_MODES, check_mask_mode, perturbation_region
from .pixel_attack import IterativePixelAttack, PixelAttack
from .generator_attack import GeneratorAttack
from .feature_attack import FeatureAttack
from .batch import MODES, attack_batch
from .attack_file import load_attack_file
from .pgd import FGSM, PGD
from .pixel_losses import pixel_cross_entropy, require_pixel_logits
from .apgd import APGD, APGDTrace, apgd_checkpoints, dlr_loss
from .seg_pgd import SegPGD
from .cos_pgd import CosPGD
from .tog_vanishing import TOGVanishing
from .shared_pgd import SharedPGD
from .universal import UniversalPerturbation
from .perceptual import PerceptualAttack
from .recolor import ReColor
from .spatial_flow import SpatialFlow
from .latent import LatentAttack
from .layer_activation import LayerActivationAttack
from .feature_stats import FeatureStatsPerturbation, perturb_feature_stats
from .advbn import AdvBN

__all__ = [
    'BaseAttack', 'PixelAttack', 'IterativePixelAttack', 'GeneratorAttack', 'FeatureAttack', 'attack_batch',
    'MODES', 'build_attack', 'attack_class', 'load_attack_file', 'derive_seed',
    'seeded_global_rng', 'gradient_ascent', 'loss_gradients', 'finite_rows',
    'drop_non_finite', 'NORMS', 'check_eps', 'check_alpha', 'check_norm',
    'lp_project', 'lp_direction', 'lp_random_start', 'MASK_MODES', 'check_mask_mode',
    'perturbation_region', 'PGD', 'FGSM', 'APGD', 'APGDTrace', 'apgd_checkpoints',
    'dlr_loss', 'SegPGD', 'CosPGD', 'TOGVanishing', 'pixel_cross_entropy',
    'require_pixel_logits', 'SharedPGD', 'UniversalPerturbation',
    'PerceptualAttack', 'ReColor', 'SpatialFlow', 'LatentAttack',
    'LayerActivationAttack', 'AdvBN', 'FeatureStatsPerturbation',
    'perturb_feature_stats'
]
