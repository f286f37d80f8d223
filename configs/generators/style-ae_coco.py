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
_base_ = ['../_base_/default_runtime.py']
default_scope = 'mmgat'

# Twice the DigitScenes widths: natural images carry more texture than digit scenes.
model = dict(
    type='mmgat.StyleAutoEncoder',
    encoder_channels=(32, 64, 128, 128),   # at 1/1, 1/2, 1/4, 1/8
    decoder_channels=(128, 128, 64, 32),   # at 1/8, 1/4, 1/2, 1/1
    latent_channels=32,
    loss_weights=dict(l1=1.0, grad=1.0, ms=0.5),
    # no colour permutations: val has the colours of train (there is no val_ood here)
    train_color_aug=False,
    data_preprocessor=dict(type='ImgDataPreprocessor', bgr_to_rgb=True, pad_size_divisor=8))

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
val_evaluator = dict(type='mmgat.ReconstructionPSNR')
test_evaluator = val_evaluator

max_iters = 20000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=1e-4),
    clip_grad=dict(max_norm=10, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=500),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=500, end=max_iters, eta_min=1e-5),
]
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=2000, max_keep_ckpts=2, save_last=True))
