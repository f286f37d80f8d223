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
_base_ = [
    '../_base_/models/style-ae_real.py', '../_base_/schedules/adamw_generator_20k.py',
    '../_base_/datasets/real/ade20k.py',
]
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
