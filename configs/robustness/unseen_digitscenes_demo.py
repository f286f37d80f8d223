# The default suite at demo size: every entry of unseen_digitscenes.py on fewer images
# (the same evenly spaced ones for both models of a comparison) and fewer steps, so that
# `make demo` runs it on two detectors within its 30 minutes (about 3.5 min each).
# Scores on 8-24 images are noisier than the full suite's; compare models on the same
# suite only.
_base_ = ['./unseen_digitscenes.py']
_small = dict(num_images=24)
# APGD at 5 steps (the default suite's 10 would add about a minute per detector)
_apgd = dict(num_images=24, attack_options=dict(steps=5))
entry_options = {
    'apgd-linf_eps2': _apgd,
    'apgd-linf_eps4': _apgd,
    'apgd-linf_eps8': _apgd,
    'apgd-l2_eps0.5': _apgd,
    'segpgd-linf_eps8': _small,
    'cospgd-linf_eps8': _small,
    'tog-vanishing_linf_eps8': _small,
    'recolor': _small,
    'spatial': _small,
    'perceptual': _small,
    'universal': dict(iters=10),
    'apgd-linf_eps8_background': _apgd,
    'advbn': _small,
    'gat-coarse': _small,
    'gat-mid': _small,
    'gat-fine': _small,
    'granularity': dict(num_images=8, attack=dict(steps=3)),
    'corruptions': dict(num_images=8),
}
