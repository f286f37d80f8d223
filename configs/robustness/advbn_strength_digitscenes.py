# AdvBN as an attack at three strengths (feature mean / std factors within 1 +- tau; the
# paper's 6 signed steps of 0.2, capped by tau), 24 images each: what strength leaves a
# DigitScenes detector something to learn from (configs/advbn/*-tau025_*). The default
# suite's `advbn` entry is the paper's tau 1.1.
#   python tools/test.py configs/clean/faster-rcnn_r18_clean_digitscenes.py CKPT \
#       --robustness configs/robustness/advbn_strength_digitscenes.py --work-dir DIR
_advbn = '{{ fileDirname }}/../_base_/attacks/advbn.py'
entries = [
    dict(name=f'advbn-tau{tau}', kind='attack', attack=_advbn,
         attack_options=dict(tau=tau), num_images=24)
    for tau in (0.1, 0.25, 0.5)
]
