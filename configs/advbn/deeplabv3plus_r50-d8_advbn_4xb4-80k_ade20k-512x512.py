# AdvBN training (worst-case feature statistics after layer1, official defaults) of the
# clean DeepLabV3+ R-50-D8 on ADE20K
# (clean/deeplabv3plus_r50-d8_clean_4xb4-80k_ade20k-512x512.py); the hook and what it
# does: configs/_base_/adversarial/advbn.py.
_base_ = [
    '../clean/deeplabv3plus_r50-d8_clean_4xb4-80k_ade20k-512x512.py',
    '../_base_/adversarial/advbn.py',
]
