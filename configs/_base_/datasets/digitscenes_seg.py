# DigitScenes semantic segmentation (0 background, 1-10 digits 0-9, 128 px scenes).
# Generate the data first: python tools/make_digitscenes.py --out data/digitscenes
dataset_type = 'mmgat.DigitScenesSegDataset'
data_root = '{{$MMGAT_DATA_ROOT:data/digitscenes}}/'
crop_size = (128, 128)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='images/train', seg_map_path='seg_maps/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='images/val', seg_map_path='seg_maps/val'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
ood_test_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='images/val_ood', seg_map_path='seg_maps/val_ood'),
        test_mode=True,
        pipeline=test_pipeline))

# mmseg reports mIoU in percent (0-100).
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
ood_test_evaluator = val_evaluator
