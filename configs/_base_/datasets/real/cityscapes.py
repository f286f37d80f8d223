# Cityscapes (gtFine, 19 train ids) for the real-scale segmentation configs
# (configs/<method>/*_cityscapes-512x1024.py): mmseg's own Cityscapes data settings
# (mmseg::_base_/datasets/cityscapes.py: random resize 0.5-2.0 of 2048x1024, 512x1024
# crops, flips, photometric distortion; whole 2048x1024 images in test) with the data
# root and the scale taken from the environment:
#   MMGAT_DATA_ROOT  the folder holding leftImg8bit/ and gtFine/ (*_labelTrainIds.png)
#                    (default: data/cityscapes, mmseg's)
#   MMGAT_IMG_SCALE  "W,H" of the resize of the train and test pipelines (default:
#                    2048,1024, mmseg's); the train crop is half of it in each side, as
#                    mmseg's 512x1024 of 1024x2048 (tests use e.g. 128,64 -> 32x64 crops)
# No Cityscapes on this machine? A DigitScenes stand-in in its layout (digits are train
# ids 0-9, the rest sky): python tools/make_digitscenes.py --layout cityscapes --out data/cityscapes
# There is no out-of-domain split (no ood_test_dataloader): suites must not use val_ood.
#
# Usage (mmengine refuses two bases that set the same key, and mmseg's config already
# sets the dataloaders, so the overrides come as `real_*` and the config merges them
# into mmseg's in its own body, as configs/clean/*_cityscapes-512x1024.py does):
#   _base_ = ['mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb2-80k_cityscapes-512x1024.py',
#             '../_base_/datasets/real/cityscapes.py', '../_base_/upstream_runtime.py']
#   crop_size = _base_.real_crop_size
#   train_dataloader = _base_.real_data.train_dataloader   # and val_ / test_
real_data_root = '{{$MMGAT_DATA_ROOT:data/cityscapes}}/'
real_img_scale = ({{'$MMGAT_IMG_SCALE:2048,1024'}})
# (h, w), what mmseg's RandomCrop and SegDataPreProcessor take
real_crop_size = (real_img_scale[1] // 2, real_img_scale[0] // 2)
# The "stuff" train ids, which localized adversarial training (mask='background') may
# perturb: road, sidewalk, building, wall, fence, vegetation, terrain, sky. Objects
# (pole, traffic light / sign, person, rider, vehicles) stay untouched.
real_background_classes = [0, 1, 2, 3, 4, 8, 9, 10]

real_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=real_img_scale, ratio_range=(0.5, 2.0),
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=real_crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
# Label maps loaded after Resize (mmseg's order): IoUMetric compares at full resolution.
real_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=real_img_scale, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
_val_split = dict(data_root=real_data_root, pipeline=real_test_pipeline,
                  data_prefix=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val'))
real_data = dict(
    train_dataloader=dict(dataset=dict(
        data_root=real_data_root, pipeline=real_train_pipeline,
        data_prefix=dict(img_path='leftImg8bit/train', seg_map_path='gtFine/train'))),
    val_dataloader=dict(dataset=_val_split),
    test_dataloader=dict(dataset=_val_split))
