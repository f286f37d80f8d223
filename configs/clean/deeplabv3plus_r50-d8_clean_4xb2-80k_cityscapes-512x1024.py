# DeepLabV3+ R-50-D8 on Cityscapes (512x1024 crops, 80k iterations, 4 GPUs x 2 images),
# trained clean: mmseg's config unchanged (model with SyncBN, which mmengine turns into
# plain BN in a single process; SGD lr 0.01 poly schedule; ImageNet-pretrained
# ResNet-50-v1c from open-mmlab://resnet50_v1c), with the data root / scale of
# configs/_base_/datasets/real/cityscapes.py (MMGAT_DATA_ROOT, MMGAT_IMG_SCALE) and
# mmgat's checkpoint hooks.
#   python tools/make_digitscenes.py --layout cityscapes --out data/cityscapes  # stand-in
#   bash tools/dist_train.sh \
#       configs/clean/deeplabv3plus_r50-d8_clean_4xb2-80k_cityscapes-512x1024.py 4
_base_ = [
    'mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb2-80k_cityscapes-512x1024.py',
    '../_base_/datasets/real/cityscapes.py',
    '../_base_/upstream_runtime.py',
]
# Merged into mmseg's settings (see the two fragments: bases may not share keys).
crop_size = _base_.real_crop_size
data_root = _base_.real_data_root
train_pipeline = _base_.real_train_pipeline
test_pipeline = _base_.real_test_pipeline
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
train_dataloader = _base_.real_data.train_dataloader
val_dataloader = _base_.real_data.val_dataloader
test_dataloader = _base_.real_data.test_dataloader
default_hooks = _base_.mmgat_default_hooks
