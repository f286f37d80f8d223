# Full-image PGD training of the detector at the budget of localized adversarial
# training (eps 8/255, alpha 2.5/255, 3 steps; configs/_base_/adversarial/localized.py),
# the control of its claim (Rothberg et al.: perturbing the background only costs less
# clean score than perturbing the whole image at the same budget). Run beside
# `localized` by:
#   python tools/compare.py --tasks detection --methods pgd-eps8 --seeds 0
_base_ = ['./faster-rcnn_r18_pgd_digitscenes.py']
custom_hooks = [
    dict(_base_.custom_hooks[0],
         attack=dict(_base_.custom_hooks[0].attack, eps=8 / 255, alpha=2.5 / 255)),
]
