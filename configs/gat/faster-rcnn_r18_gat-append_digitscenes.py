# GAT variant for claim (a) on the detector: adversarial copies are *appended* to the
# whole clean batch (mode='append', ratio=1: 8 clean + 8 re-synthesised images per step,
# the paper's 1:1 mix) instead of replacing half of it, so the detector keeps seeing
# every clean image of the clean run's data stream. About twice the cost of
# faster-rcnn_r18_gat_digitscenes.py per iteration (twice the attacked and trained images).
_base_ = ['./faster-rcnn_r18_gat_digitscenes.py']
custom_hooks = [dict(_base_.custom_hooks[0], mode='append', ratio=1.0)]
