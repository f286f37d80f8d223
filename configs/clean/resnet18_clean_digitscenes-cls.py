_base_ = [
    '../_base_/models/resnet18_cls.py',
    '../_base_/datasets/digitscenes_cls.py',
    '../_base_/schedules/adamw_1000it.py',
    '../_base_/cls_runtime.py',
]
auto_scale_lr = dict(base_batch_size=32)
