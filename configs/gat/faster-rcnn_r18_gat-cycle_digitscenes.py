# GAT variant for claim (a) on the detector: the perturbed level taken in turn by
# iteration (coarse, mid, fine, coarse, ...) instead of drawn at random, so every level
# gets exactly a third of the attacked iterations.
_base_ = ['./faster-rcnn_r18_gat_digitscenes.py']
custom_hooks = [
    dict(_base_.custom_hooks[0],
         attack=dict(_base_.custom_hooks[0].attack, level_sampling='cycle')),
]
