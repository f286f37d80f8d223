# Shared adversarial training (one L-inf 8/255 perturbation per heap) of the clean
# RetinaNet R-50-FPN 1x on COCO (clean/retinanet_r50_fpn_clean_1x_coco.py); the hook and
# what it does: configs/_base_/adversarial/shared.py.
_base_ = [
    '../clean/retinanet_r50_fpn_clean_1x_coco.py',
    '../_base_/adversarial/shared.py',
]
# mmdet's batch is 2 images per GPU: one shared perturbation per GPU batch
# (the fragment is set for batches of 8, heaps of 4).
custom_hooks = [
    dict(_base_.custom_hooks[0],
         attack=dict(_base_.custom_hooks[0].attack, heap_size=2)),
]
