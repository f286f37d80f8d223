# GAT variant for claim (a) on the detector: half the per-level latent budget (0.25 std
# of each latent instead of 0.5), a smaller shift of the training distribution.
_base_ = ['./faster-rcnn_r18_gat_digitscenes.py']
custom_hooks = [
    dict(_base_.custom_hooks[0],
         attack=dict(_base_.custom_hooks[0].attack,
                     eps=dict(coarse=0.25, mid=0.25, fine=0.25))),
]
