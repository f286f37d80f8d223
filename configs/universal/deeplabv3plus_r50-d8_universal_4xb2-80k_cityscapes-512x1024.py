# Universal adversarial training (one persistent L-inf 8/255 perturbation) of the clean
# DeepLabV3+ R-50-D8 on Cityscapes
# (clean/deeplabv3plus_r50-d8_clean_4xb2-80k_cityscapes-512x1024.py); the hook and what it
# does: configs/_base_/adversarial/universal.py.
_base_ = [
    '../clean/deeplabv3plus_r50-d8_clean_4xb2-80k_cityscapes-512x1024.py',
    '../_base_/adversarial/universal.py',
]
