# GAT generator for the 32 px DigitScenes classification images
# (a style-based autoencoder with coarse / mid / fine latents, mmgat.StyleAutoEncoder).
#   python tools/train_generator.py configs/generators/style-ae_digitscenes-cls.py
#   -> work_dirs/style-ae_digitscenes-cls/generator.pth (weights + latent statistics)
#   python tools/test.py configs/generators/style-ae_digitscenes-cls.py \
#       work_dirs/style-ae_digitscenes-cls/generator.pth [--split val_ood]   # PSNR
# Also the base of the 128 px scene generator (style-ae_digitscenes.py): its model,
# evaluators and optimiser come from here.
_base_ = ['../_base_/default_runtime.py']
default_scope = 'mmgat'

model = dict(
    type='mmgat.StyleAutoEncoder',
    encoder_channels=(16, 32, 64, 64),   # at 1/1, 1/2, 1/4, 1/8 (32 px: 32, 16, 8, 4)
    decoder_channels=(64, 64, 32, 16),   # at 1/8, 1/4, 1/2, 1/1
    latent_channels=16,
    # ms: the partial images at 1/8, 1/4, 1/2 match the pooled input (Laplacian pyramid)
    loss_weights=dict(l1=1.0, grad=1.0, ms=0.5),
    # random RGB orders and inversions: colours never seen in training (val_ood) still
    # reconstruct well
    train_color_aug=True,
    data_preprocessor=dict(type='ImgDataPreprocessor', bgr_to_rgb=True, pad_size_divisor=8))

dataset_type = 'mmgat.DigitScenesClsDataset'
data_root = '{{$MMGAT_DATA_ROOT:data/digitscenes}}/'
pipeline = [dict(type='LoadImageFromFile'), dict(type='mmgat.PackClsInputs')]

train_dataloader = dict(
    batch_size=16, num_workers=2, persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='cls/train.json',
                 data_prefix=dict(img_path='cls/images/train', mask_path='cls/masks/train'),
                 pipeline=pipeline))
val_dataloader = dict(
    batch_size=100, num_workers=2, persistent_workers=False, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='cls/val.json',
                 data_prefix=dict(img_path='cls/images/val', mask_path='cls/masks/val'),
                 test_mode=True, pipeline=pipeline))
test_dataloader = val_dataloader
ood_test_dataloader = dict(
    batch_size=100, num_workers=2, persistent_workers=False, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='cls/val_ood.json',
                 data_prefix=dict(img_path='cls/images/val_ood',
                                  mask_path='cls/masks/val_ood'),
                 test_mode=True, pipeline=pipeline))
val_evaluator = dict(type='mmgat.ReconstructionPSNR')
test_evaluator = val_evaluator
ood_test_evaluator = val_evaluator

max_iters = 600
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=1e-4),
    clip_grad=dict(max_norm=10, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=30),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=30, end=max_iters, eta_min=1e-5),
]
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1, save_last=True))
