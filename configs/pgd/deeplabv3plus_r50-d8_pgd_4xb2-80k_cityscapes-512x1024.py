# PGD adversarial training (L-inf eps 4/255, 3 steps; clean + adversarial 1:1) of the
# clean DeepLabV3+ R-50-D8 on Cityscapes
# (clean/deeplabv3plus_r50-d8_clean_4xb2-80k_cityscapes-512x1024.py); the hook and what it
# does: configs/_base_/adversarial/pgd.py.
_base_ = [
    '../clean/deeplabv3plus_r50-d8_clean_4xb2-80k_cityscapes-512x1024.py',
    '../_base_/adversarial/pgd.py',
]
