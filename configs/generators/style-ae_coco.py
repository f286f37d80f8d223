# GAT generator for COCO (the detectors of configs/gat/*_1x_coco.py): a style-based
# autoencoder with coarse / mid / fine latents (mmgat.StyleAutoEncoder), trained on
# random 256 px crops of the train2017 images at the detectors' input scale. It is
# fully convolutional (apart from the pooled styles), so the GAT attack runs it on the
# whole padded detector batch.
#   python tools/train_generator.py configs/generators/style-ae_coco.py
#   -> work_dirs/style-ae_coco/generator.pth (weights + latent statistics)
#   python tools/test.py configs/generators/style-ae_coco.py \
#       work_dirs/style-ae_coco/generator.pth          # PSNR on val2017
# Data root and scale: MMGAT_DATA_ROOT (default data/coco), MMGAT_IMG_SCALE ("W,H",
# default 1333,800), as configs/_base_/datasets/real/coco_detection.py.
_base_ = [
    '../_base_/models/style-ae_real.py', '../_base_/schedules/adamw_generator_20k.py',
]
dataset_type = 'mmdet.CocoDataset'
data_root = '{{$MMGAT_DATA_ROOT:data/coco}}/'
img_scale = ({{'$MMGAT_IMG_SCALE:1333,800'}})
crop_size = (256, 256)
# Only the images: the detectors' Resize (so the generator sees what the attack feeds
# it), then a random crop in training.
_meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmdet.Resize', scale=img_scale, keep_ratio=True),
    dict(type='mmdet.RandomCrop', crop_size=crop_size),
    dict(type='mmdet.PackDetInputs', meta_keys=_meta_keys),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmdet.Resize', scale=img_scale, keep_ratio=True),
    dict(type='mmdet.PackDetInputs', meta_keys=_meta_keys),
]

train_dataloader = dict(
    batch_size=16, num_workers=4, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='annotations/instances_train2017.json',
                 data_prefix=dict(img='train2017/'), filter_cfg=dict(filter_empty_gt=False),
                 pipeline=train_pipeline))
# Whole images at the detectors' scale: 2 per batch keep the 1/1 activations small.
val_dataloader = dict(
    batch_size=2, num_workers=2, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='annotations/instances_val2017.json',
                 data_prefix=dict(img='val2017/'), test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
