# PGD adversarial training (L-inf eps 4/255, 3 steps; clean + adversarial 1:1) of the
# clean RetinaNet R-50-FPN 1x on COCO (clean/retinanet_r50_fpn_clean_1x_coco.py); the
# hook and what it does: configs/_base_/adversarial/pgd.py.
_base_ = [
    '../clean/retinanet_r50_fpn_clean_1x_coco.py',
    '../_base_/adversarial/pgd.py',
]
