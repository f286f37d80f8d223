# Shared adversarial training (one L-inf 8/255 perturbation per heap) of the clean
# DeepLabV3+ R-50-D8 on ADE20K
# (clean/deeplabv3plus_r50-d8_clean_4xb4-80k_ade20k-512x512.py); the hook and what it
# does: configs/_base_/adversarial/shared.py.
# mmseg's batch is 4 images per GPU: the fragment's heaps of 4 give one shared
# perturbation per GPU batch.
_base_ = [
    '../clean/deeplabv3plus_r50-d8_clean_4xb4-80k_ade20k-512x512.py',
    '../_base_/adversarial/shared.py',
]
