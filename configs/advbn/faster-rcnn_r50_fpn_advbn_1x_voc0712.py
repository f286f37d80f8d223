# AdvBN training (worst-case feature statistics after layer1, official defaults) of the
# clean Faster R-CNN R-50-FPN on Pascal VOC 07+12 (clean/faster-
# rcnn_r50_fpn_clean_1x_voc0712.py); the hook and what it does:
# configs/_base_/adversarial/advbn.py.
_base_ = [
    '../clean/faster-rcnn_r50_fpn_clean_1x_voc0712.py',
    '../_base_/adversarial/advbn.py',
]
