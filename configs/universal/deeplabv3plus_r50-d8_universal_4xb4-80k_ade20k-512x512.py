# Universal adversarial training (one persistent L-inf 8/255 perturbation) of the clean
# DeepLabV3+ R-50-D8 on ADE20K
# (clean/deeplabv3plus_r50-d8_clean_4xb4-80k_ade20k-512x512.py); the hook and what it
# does: configs/_base_/adversarial/universal.py.
_base_ = [
    '../clean/deeplabv3plus_r50-d8_clean_4xb4-80k_ade20k-512x512.py',
    '../_base_/adversarial/universal.py',
]
