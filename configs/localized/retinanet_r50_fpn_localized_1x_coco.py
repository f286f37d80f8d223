# Localized adversarial training (L-inf 8/255 PGD outside the GT boxes) of the clean
# RetinaNet R-50-FPN 1x on COCO (clean/retinanet_r50_fpn_clean_1x_coco.py); the hook and
# what it does: configs/_base_/adversarial/localized.py.
_base_ = [
    '../clean/retinanet_r50_fpn_clean_1x_coco.py',
    '../_base_/adversarial/localized.py',
]
