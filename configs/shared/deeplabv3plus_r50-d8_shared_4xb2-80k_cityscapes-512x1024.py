# Shared adversarial training (one L-inf 8/255 perturbation per heap) of the clean
# DeepLabV3+ R-50-D8 on Cityscapes
# (clean/deeplabv3plus_r50-d8_clean_4xb2-80k_cityscapes-512x1024.py); the hook and what it
# does: configs/_base_/adversarial/shared.py.
_base_ = [
    '../clean/deeplabv3plus_r50-d8_clean_4xb2-80k_cityscapes-512x1024.py',
    '../_base_/adversarial/shared.py',
]
# mmseg's batch is 2 images per GPU: one shared perturbation per GPU batch
# (the fragment is set for batches of 8, heaps of 4).
custom_hooks = [
    dict(_base_.custom_hooks[0],
         attack=dict(_base_.custom_hooks[0].attack, heap_size=2)),
]
