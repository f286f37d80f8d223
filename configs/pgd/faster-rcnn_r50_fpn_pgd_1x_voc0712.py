# PGD adversarial training (L-inf eps 4/255, 3 steps; clean + adversarial 1:1) of the
# clean Faster R-CNN R-50-FPN on Pascal VOC 07+12 (clean/faster-
# rcnn_r50_fpn_clean_1x_voc0712.py); the hook and what it does:
# configs/_base_/adversarial/pgd.py.
_base_ = [
    '../clean/faster-rcnn_r50_fpn_clean_1x_voc0712.py',
    '../_base_/adversarial/pgd.py',
]
