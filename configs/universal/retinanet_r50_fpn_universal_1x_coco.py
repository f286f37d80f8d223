# Universal adversarial training (one persistent L-inf 8/255 perturbation) of the clean
# RetinaNet R-50-FPN 1x on COCO (clean/retinanet_r50_fpn_clean_1x_coco.py); the hook and
# what it does: configs/_base_/adversarial/universal.py.
_base_ = [
    '../clean/retinanet_r50_fpn_clean_1x_coco.py',
    '../_base_/adversarial/universal.py',
]
# One square perturbation that covers every padded batch (landscape and portrait
# images: the long side of the scale, padded to 32 as the preprocessor pads); a
# batch gets its top-left crop (fit='crop'), aligned with the images.
_side = -(-max(_base_.real_img_scale) // 32) * 32
custom_hooks = [
    dict(_base_.custom_hooks[0],
         attack=dict(_base_.custom_hooks[0].attack, size=(_side, _side))),
]
