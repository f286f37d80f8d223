# A quicker version of unseen_digitscenes.py (same entries, fewer images and steps), for
# demos and smoke runs: about 4 minutes for the Faster R-CNN R-18 detector on a 2-core
# CPU. Scores on so few images are noisy; compare methods on the full suite.
_base_ = ['./unseen_digitscenes.py']

_gat = dict(num_images=16, attack_options=dict(steps=3))
entry_options = {
    'pgd-linf_eps2': dict(num_images=24, attack_options=dict(steps=3, alpha=1 / 255)),
    'pgd-linf_eps4': dict(num_images=24, attack_options=dict(steps=3, alpha=2 / 255)),
    'pgd-linf_eps8': dict(num_images=24, attack_options=dict(steps=3, alpha=4 / 255)),
    'pgd-l2_eps0.5': dict(num_images=24, attack_options=dict(steps=3, alpha=0.2)),
    'recolor': dict(num_images=24, attack_options=dict(steps=3, alpha=0.025)),
    'spatial': dict(num_images=24, attack_options=dict(steps=3, alpha=0.4)),
    'perceptual': dict(num_images=24, attack_options=dict(steps=3, alpha=4 / 255)),
    'universal': dict(iters=20),
    'pgd-linf_eps8_background': dict(num_images=24,
                                      attack_options=dict(steps=3, alpha=4 / 255)),
    'gat-coarse': _gat,
    'gat-mid': _gat,
    'gat-fine': _gat,
    'granularity': dict(num_images=8, attack=dict(steps=3)),
    'corruptions': dict(num_images=16),
}
