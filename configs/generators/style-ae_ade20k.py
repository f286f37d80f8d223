# GAT generator for ADE20K (the segmentors of configs/gat/*_ade20k-*.py): a style-based
# autoencoder with coarse / mid / fine latents (mmgat.StyleAutoEncoder), trained on
# random 256x256 crops of the images/training images at the segmentors' input scale. It
# is fully convolutional (apart from the pooled styles), so the GAT attack runs it on
# the whole padded segmentor batch (the 512 px training crops, whole images in test).
#   python tools/train_generator.py configs/generators/style-ae_ade20k.py
#   -> work_dirs/style-ae_ade20k/generator.pth (weights + latent statistics)
#   python tools/test.py configs/generators/style-ae_ade20k.py \
#       work_dirs/style-ae_ade20k/generator.pth          # PSNR on images/validation
# Data root and scale: MMGAT_DATA_ROOT, MMGAT_IMG_SCALE ("W,H"; defaults
# data/ade/ADEChallengeData2016 and 2048,512), read by
# configs/_base_/datasets/real/ade20k.py. No out-of-domain split.
_base_ = ['../_base_/default_runtime.py', '../_base_/datasets/real/ade20k.py']
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

dataset_type = 'mmseg.ADE20KDataset'
data_root = _base_.real_data_root
img_scale = _base_.real_img_scale
crop_size = (256, 256)
# Only the images (no label maps): the segmentors' test resize (so the generator sees
# what the attack feeds it), then a random crop in training.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='mmseg.RandomCrop', crop_size=crop_size),
    dict(type='mmseg.PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='mmseg.PackSegInputs'),
]

train_dataloader = dict(
    batch_size=16, num_workers=4, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root,
                 data_prefix=dict(img_path='images/training'), pipeline=train_pipeline))
# Whole images at the segmentors' scale: 2 per batch keep the 1/1 activations small.
val_dataloader = dict(
    batch_size=2, num_workers=2, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root,
                 data_prefix=dict(img_path='images/validation'), test_mode=True,
                 pipeline=test_pipeline))
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
