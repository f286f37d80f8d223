# GAT generator for Pascal VOC (the detector of configs/gat/*_1x_voc0712.py): the COCO
# generator's model and schedule (style-ae_coco.py) on random 256 px crops of VOC2007 +
# VOC2012 trainval at the detector's input scale.
#   python tools/train_generator.py configs/generators/style-ae_voc.py
#   -> work_dirs/style-ae_voc/generator.pth
#   python tools/test.py configs/generators/style-ae_voc.py \
#       work_dirs/style-ae_voc/generator.pth           # PSNR on VOC2007 test
# Data root and scale: MMGAT_DATA_ROOT (default data/VOCdevkit), MMGAT_IMG_SCALE ("W,H",
# default 1000,600), as configs/_base_/datasets/real/voc0712.py.
_base_ = ['./style-ae_coco.py']

dataset_type = 'mmdet.VOCDataset'
data_root = '{{$MMGAT_DATA_ROOT:data/VOCdevkit}}/'
img_scale = ({{'$MMGAT_IMG_SCALE:1000,600'}})
_meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmdet.Resize', scale=img_scale, keep_ratio=True),
    dict(type='mmdet.RandomCrop', crop_size=_base_.crop_size),
    dict(type='mmdet.PackDetInputs', meta_keys=_meta_keys),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmdet.Resize', scale=img_scale, keep_ratio=True),
    dict(type='mmdet.PackDetInputs', meta_keys=_meta_keys),
]


def _voc(year, split, pipeline, **kwargs):
    return dict(type=dataset_type, data_root=data_root,
                ann_file=f'VOC{year}/ImageSets/Main/{split}.txt',
                data_prefix=dict(sub_data_root=f'VOC{year}/'), pipeline=pipeline, **kwargs)


train_dataloader = dict(dataset=dict(
    _delete_=True, type='ConcatDataset', ignore_keys=['dataset_type'],
    datasets=[_voc(2007, 'trainval', train_pipeline, filter_cfg=dict(filter_empty_gt=False)),
              _voc(2012, 'trainval', train_pipeline, filter_cfg=dict(filter_empty_gt=False))]))
val_dataloader = dict(dataset=dict(_delete_=True,
                                   **_voc(2007, 'test', test_pipeline, test_mode=True)))
test_dataloader = val_dataloader
