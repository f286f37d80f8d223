# Localized adversarial training (L-inf 8/255 PGD outside the GT boxes) of the clean
# Faster R-CNN R-50-FPN 1x on COCO (clean/faster-rcnn_r50_fpn_clean_1x_coco.py); the
# hook and what it does: configs/_base_/adversarial/localized.py.
_base_ = [
    '../clean/faster-rcnn_r50_fpn_clean_1x_coco.py',
    '../_base_/adversarial/localized.py',
]
