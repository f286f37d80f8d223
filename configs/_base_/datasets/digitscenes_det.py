# DigitScenes detection (COCO-style boxes of 10 digit classes, 128 px scenes).
# Generate the data first: python tools/make_digitscenes.py --out data/digitscenes
# Another location: MMGAT_DATA_ROOT=/path/to/digitscenes python tools/train.py ...
dataset_type = 'mmgat.DigitScenesDetDataset'
data_root = '{{$MMGAT_DATA_ROOT:data/digitscenes}}/'
backend_args = None

# Digits are not mirror-symmetric: no flips. Resize is an identity at 128 px but records
# the scale factor that mmdet's post-processing needs.
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='PackDetInputs'),
]
# Boxes are loaded before Resize so that they lie in the network input's frame, where
# attacks under test (background masks, detection losses) need them; CocoMetric scores
# against the annotation file anyway.
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]


train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/train.json',
        data_prefix=dict(img='images/train/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=4),
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/val.json',
        data_prefix=dict(img='images/val/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader
# Out-of-domain split: backgrounds and colours never seen in training
# (tools/test.py --split val_ood).
ood_test_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/val_ood.json',
        data_prefix=dict(img='images/val_ood/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))

val_evaluator = dict(type='CocoMetric', ann_file=data_root + 'annotations/val.json',
                     metric='bbox', format_only=False, backend_args=backend_args)
test_evaluator = val_evaluator
ood_test_evaluator = dict(type='CocoMetric', ann_file=data_root + 'annotations/val_ood.json',
                          metric='bbox', format_only=False, backend_args=backend_args)
