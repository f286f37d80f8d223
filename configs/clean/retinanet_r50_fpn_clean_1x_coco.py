# RetinaNet R-50-FPN 1x on COCO 2017, trained clean: mmdet's config unchanged
# (model, 12-epoch schedule, ImageNet-pretrained ResNet-50 from torchvision://resnet50),
# with the data root / image scale of configs/_base_/datasets/real/coco_detection.py
# (MMGAT_DATA_ROOT, MMGAT_IMG_SCALE) and mmgat's checkpoint hooks.
#   python tools/make_digitscenes.py --layout coco --out data/coco   # no COCO here
#   bash tools/dist_train.sh configs/clean/retinanet_r50_fpn_clean_1x_coco.py 8
_base_ = [
    'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py',
    '../_base_/datasets/real/coco_detection.py',
    '../_base_/upstream_runtime.py',
]
# Merged into mmdet's settings (see the two fragments: bases may not share keys).
data_root = _base_.real_data_root
train_pipeline = _base_.real_train_pipeline
test_pipeline = _base_.real_test_pipeline
train_dataloader = _base_.real_data.train_dataloader
val_dataloader = _base_.real_data.val_dataloader
test_dataloader = _base_.real_data.test_dataloader
val_evaluator = _base_.real_data.val_evaluator
test_evaluator = _base_.real_data.test_evaluator
default_hooks = _base_.mmgat_default_hooks
