# Localized adversarial training (L-inf 8/255 PGD on the background classes only) of the
# clean DeepLabV3+ R-50-D8 on Cityscapes
# (clean/deeplabv3plus_r50-d8_clean_4xb2-80k_cityscapes-512x1024.py); the hook and what it
# does: configs/_base_/adversarial/localized.py.
_base_ = [
    '../clean/deeplabv3plus_r50-d8_clean_4xb2-80k_cityscapes-512x1024.py',
    '../_base_/adversarial/localized.py',
]
# The dataset's background ("stuff") classes, listed in
# configs/_base_/datasets/real/cityscapes.py (real_background_classes). Without them
# the hook refuses to start (a segmentor has no default background).
custom_hooks = [
    dict(_base_.custom_hooks[0],
         victim=dict(background_classes=_base_.real_background_classes)),
]
