# Faster R-CNN R-50-FPN on Pascal VOC 07+12, trained clean: mmdet's config unchanged
# (20 classes, 4 epochs over 3 repeats of VOC2007 + VOC2012 trainval, tested on VOC2007
# test with 11-point mAP, ImageNet-pretrained ResNet-50 from torchvision://resnet50), with
# the data root / image scale of configs/_base_/datasets/real/voc0712.py
# (MMGAT_DATA_ROOT, MMGAT_IMG_SCALE) and mmgat's checkpoint hooks.
#   python tools/make_digitscenes.py --layout voc --out data/VOCdevkit   # no VOC here
#   bash tools/dist_train.sh configs/clean/faster-rcnn_r50_fpn_clean_1x_voc0712.py 8
_base_ = [
    'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py',
    '../_base_/datasets/real/voc0712.py',
    '../_base_/upstream_runtime.py',
]
# Merged into mmdet's settings (see the two fragments: bases may not share keys).
data_root = _base_.real_data_root
train_pipeline = _base_.real_train_pipeline
test_pipeline = _base_.real_test_pipeline
train_dataloader = _base_.real_data.train_dataloader
val_dataloader = _base_.real_data.val_dataloader
test_dataloader = _base_.real_data.test_dataloader
default_hooks = _base_.mmgat_default_hooks
