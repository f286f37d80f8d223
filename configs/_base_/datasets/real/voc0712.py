# Pascal VOC 2007 + 2012 detection for the real-scale configs
# (configs/<method>/*_1x_voc0712.py): mmdet's own VOC data settings
# (mmdet::_base_/datasets/voc0712.py: train on VOC2007 + VOC2012 trainval, 3 repeats;
# test on VOC2007 test) with the data root and the image scale taken from the environment:
#   MMGAT_DATA_ROOT  the VOCdevkit folder holding VOC2007/ and VOC2012/
#                    (default: data/VOCdevkit, mmdet's)
#   MMGAT_IMG_SCALE  "W,H" of the Resize of the train and test pipelines
#                    (default: 1000,600, mmdet's; tests use e.g. 64,64)
# No VOC on this machine? A DigitScenes stand-in in VOC's layout (digits are the first
# ten VOC classes): python tools/make_digitscenes.py --layout voc --out data/VOCdevkit
#
# Usage: as configs/_base_/datasets/real/coco_detection.py (the overrides come as
# `real_data`, merged into mmdet's dataloaders in the config's own body).
real_data_root = '{{$MMGAT_DATA_ROOT:data/VOCdevkit}}/'
real_img_scale = ({{'$MMGAT_IMG_SCALE:1000,600'}})
_backend_args = None

real_train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=real_img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
# Boxes loaded after Resize, as mmdet does (see coco_detection.py).
real_test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_backend_args),
    dict(type='Resize', scale=real_img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]


def _trainval(year):
    return dict(type='VOCDataset', data_root=real_data_root,
                ann_file=f'VOC{year}/ImageSets/Main/trainval.txt',
                data_prefix=dict(sub_data_root=f'VOC{year}/'),
                filter_cfg=dict(filter_empty_gt=True, min_size=32, bbox_min_size=32),
                pipeline=real_train_pipeline, backend_args=_backend_args)


_test_split = dict(data_root=real_data_root, ann_file='VOC2007/ImageSets/Main/test.txt',
                   data_prefix=dict(sub_data_root='VOC2007/'), pipeline=real_test_pipeline)
real_data = dict(
    # the list of ConcatDataset is replaced as a whole (mmengine merges dicts, not lists)
    train_dataloader=dict(dataset=dict(dataset=dict(
        datasets=[_trainval(2007), _trainval(2012)]))),
    val_dataloader=dict(dataset=_test_split),
    test_dataloader=dict(dataset=_test_split))
