# COCO 2017 detection for the real-scale configs (configs/<method>/*_1x_coco.py): mmdet's
# own COCO data settings (mmdet::_base_/datasets/coco_detection.py) with the data root
# and the image scale taken from the environment:
#   MMGAT_DATA_ROOT  the folder with annotations/instances_{train,val}2017.json,
#                    train2017/ and val2017/ (default: data/coco, mmdet's)
#   MMGAT_IMG_SCALE  "W,H" of the Resize of the train and test pipelines
#                    (default: 1333,800, mmdet's; tests use e.g. 64,64)
# No COCO on this machine? A DigitScenes stand-in in COCO's layout (digits are the first
# ten COCO classes): python tools/make_digitscenes.py --layout coco --out data/coco
#
# Usage (mmengine refuses two bases that set the same key, and mmdet's config already
# sets the dataloaders, so the overrides come as `real_data` and the config merges them
# into mmdet's in its own body):
#   _base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
#             '../_base_/datasets/real/coco_detection.py', ...]
#   train_dataloader = _base_.real_data.train_dataloader   # and val_ / test_ ...
real_data_root = '{{$MMGAT_DATA_ROOT:data/coco}}/'
real_img_scale = ({{'$MMGAT_IMG_SCALE:1333,800'}})
_backend_args = None

# mmdet's pipelines with the scale above; the test pipeline loads the boxes after
# Resize (mmdet's order): attacks under test get them rescaled (gt_frame='original',
# mmgat.victims.pipeline_frame).
real_train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=real_img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
real_test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_backend_args),
    dict(type='Resize', scale=real_img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
_val_split = dict(data_root=real_data_root, ann_file='annotations/instances_val2017.json',
                  data_prefix=dict(img='val2017/'), pipeline=real_test_pipeline)
_evaluator = dict(ann_file=real_data_root + 'annotations/instances_val2017.json')
real_data = dict(
    train_dataloader=dict(dataset=dict(
        data_root=real_data_root, ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'), pipeline=real_train_pipeline)),
    val_dataloader=dict(dataset=_val_split),
    test_dataloader=dict(dataset=_val_split),
    val_evaluator=_evaluator,
    test_evaluator=_evaluator)
