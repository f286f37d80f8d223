_base_ = [
    '../_base_/models/faster-rcnn_r18.py',
    '../_base_/datasets/digitscenes_det.py',
    '../_base_/schedules/sgd_det_500it.py',
    '../_base_/det_runtime.py',
]
