# ADE20K (ADEChallengeData2016, 150 classes) for the real-scale segmentation configs
# (configs/<method>/*_ade20k-512x512.py): mmseg's own ADE20K data settings
# (mmseg::_base_/datasets/ade20k.py: label 0 "other" ignored via reduce_zero_label,
# random resize 0.5-2.0 of 2048x512, 512x512 crops, flips, photometric distortion; the
# short side at 512 in test) with the data root and the scale taken from the environment:
#   MMGAT_DATA_ROOT  the folder holding images/ and annotations/ {training,validation}
#                    (default: data/ade/ADEChallengeData2016, mmseg's)
#   MMGAT_IMG_SCALE  "W,H" of the resize of the train and test pipelines (default:
#                    2048,512, mmseg's); the train crop is H x H, as mmseg's 512x512
#                    (tests use e.g. 64,64 -> 64x64 crops)
# No ADE20K on this machine? A DigitScenes stand-in in its layout (digits are the first
# ten classes, the rest cabinet):
#   python tools/make_digitscenes.py --layout ade20k --out data/ade/ADEChallengeData2016
# There is no out-of-domain split (no ood_test_dataloader): suites must not use val_ood.
#
# Usage: as configs/_base_/datasets/real/cityscapes.py (the overrides come as `real_*`,
# merged into mmseg's settings in the config's own body).
real_data_root = '{{$MMGAT_DATA_ROOT:data/ade/ADEChallengeData2016}}'
real_img_scale = ({{'$MMGAT_IMG_SCALE:2048,512'}})
real_crop_size = (real_img_scale[1], real_img_scale[1])  # (h, w)
# "Stuff" classes (indices after reduce_zero_label) that localized adversarial training
# (mask='background') may perturb: wall 0, building 1, sky 2, floor 3, ceiling 5,
# road 6, grass 9, sidewalk 11, earth 13, mountain 16, water 21, sea 26, field 29,
# sand 46, path 52, river 60, hill 68, dirt track 91, land 94, lake 128. Objects
# (and ignored pixels) stay untouched.
real_background_classes = [0, 1, 2, 3, 5, 6, 9, 11, 13, 16, 21, 26, 29, 46, 52, 60, 68,
                           91, 94, 128]

real_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=real_img_scale, ratio_range=(0.5, 2.0),
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=real_crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
real_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=real_img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
_val_split = dict(data_root=real_data_root, pipeline=real_test_pipeline,
                  data_prefix=dict(img_path='images/validation',
                                   seg_map_path='annotations/validation'))
real_data = dict(
    train_dataloader=dict(dataset=dict(
        data_root=real_data_root, pipeline=real_train_pipeline,
        data_prefix=dict(img_path='images/training', seg_map_path='annotations/training'))),
    val_dataloader=dict(dataset=_val_split),
    test_dataloader=dict(dataset=_val_split))
