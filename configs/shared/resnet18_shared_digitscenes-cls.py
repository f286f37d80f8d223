# Shared adversarial training of the clean classifier (the hook and what it does:
# configs/_base_/adversarial/shared.py) with heaps of 8 in a batch of 32, 4 steps, and the
# per-example loss truncated at kappa = -log(0.2) with label smoothing 0.1, so that one
# example cannot dominate its heap's loss; step 0.5 * eps as in the reimplementation.
_base_ = [
    '../clean/resnet18_clean_digitscenes-cls.py',
    '../_base_/adversarial/shared.py',
]
# mmengine replaces a list from _base_ as a whole: the hook of shared.py, read as
# Python from `_base_`, with these fields changed.
custom_hooks = [
    dict(_base_.custom_hooks[0],
         attack=dict(_base_.custom_hooks[0].attack, heap_size=8, steps=4,
                     kappa=1.6094379124341003, label_smoothing=0.1)),
]
