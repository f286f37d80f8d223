# AdvBN training (worst-case feature statistics after layer1, official defaults) of the
# clean Faster R-CNN R-50-FPN 1x on COCO (clean/faster-rcnn_r50_fpn_clean_1x_coco.py);
# the hook and what it does: configs/_base_/adversarial/advbn.py.
_base_ = [
    '../clean/faster-rcnn_r50_fpn_clean_1x_coco.py',
    '../_base_/adversarial/advbn.py',
]
