# DigitScenes classification (one digit per 32 px image, 10 classes, foreground masks).
# Generate the data first: python tools/make_digitscenes.py --out data/digitscenes
dataset_type = 'mmgat.DigitScenesClsDataset'
data_root = '{{$MMGAT_DATA_ROOT:data/digitscenes}}/'

# Small random rotations / shifts / scalings against overfitting 2000 images; the
# foreground mask is warped with the image. Digits are never flipped.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmgat.LoadForegroundMask'),
    dict(type='mmgat.RandomAffineWarp', max_rotate=10, max_translate=0.08,
         scale=(0.9, 1.1)),
    dict(type='mmgat.PackClsInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmgat.LoadForegroundMask'),
    dict(type='mmgat.PackClsInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='cls/train.json',
        data_prefix=dict(img_path='cls/images/train', mask_path='cls/masks/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='cls/val.json',
        data_prefix=dict(img_path='cls/images/val', mask_path='cls/masks/val'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
ood_test_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='cls/val_ood.json',
        data_prefix=dict(img_path='cls/images/val_ood', mask_path='cls/masks/val_ood'),
        test_mode=True,
        pipeline=test_pipeline))

val_evaluator = dict(type='mmgat.Accuracy', topk=(1, ))
test_evaluator = val_evaluator
ood_test_evaluator = val_evaluator
