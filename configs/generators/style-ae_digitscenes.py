# GAT generator for the 128 px DigitScenes scenes (detection and segmentation victims):
# a style-based autoencoder with coarse / mid / fine latents (mmgat.StyleAutoEncoder).
#   python tools/train_generator.py configs/generators/style-ae_digitscenes.py
#   -> work_dirs/style-ae_digitscenes/generator.pth (weights + latent statistics)
#   python tools/test.py configs/generators/style-ae_digitscenes.py \
#       work_dirs/style-ae_digitscenes/generator.pth [--split val_ood]   # PSNR
# The architecture, losses, evaluators and optimiser are those of the classification
# generator (style-ae_digitscenes-cls.py); this file sets the scene data, the crops and
# the schedule.
_base_ = ['./style-ae_digitscenes-cls.py']

# Train on random 64 px crops of the batch (4x cheaper; fully convolutional).
model = dict(train_crop=64)

dataset_type = 'mmgat.DigitScenesDetDataset'
data_root = '{{$MMGAT_DATA_ROOT:data/digitscenes}}/'
# Only the images are needed: no annotations are loaded.
pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmdet.PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape',
                                                'img_shape')),
]

train_dataloader = dict(
    batch_size=8,
    dataset=dict(_delete_=True, type=dataset_type, data_root=data_root,
                 ann_file='annotations/train.json', data_prefix=dict(img='images/train/'),
                 filter_cfg=dict(filter_empty_gt=False), pipeline=pipeline))
val_dataloader = dict(
    batch_size=25,
    dataset=dict(_delete_=True, type=dataset_type, data_root=data_root,
                 ann_file='annotations/val.json', data_prefix=dict(img='images/val/'),
                 test_mode=True, pipeline=pipeline))
test_dataloader = val_dataloader
# Out-of-domain split (backgrounds and colours never seen in training):
# python tools/test.py CONFIG CHECKPOINT --split val_ood
ood_test_dataloader = dict(
    batch_size=25,
    dataset=dict(_delete_=True, type=dataset_type, data_root=data_root,
                 ann_file='annotations/val_ood.json',
                 data_prefix=dict(img='images/val_ood/'), test_mode=True,
                 pipeline=pipeline))

max_iters = 700
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
optim_wrapper = dict(optimizer=dict(lr=3e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=30),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=30, end=max_iters, eta_min=1e-5),
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
