_base_ = [
    '../_base_/models/deeplabv3plus_r18.py',
    '../_base_/datasets/digitscenes_seg.py',
    '../_base_/schedules/adamw_500it.py',
    '../_base_/seg_runtime.py',
]
