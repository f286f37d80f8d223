# Localized adversarial training of the clean segmentor; the hook and what it does:
# configs/_base_/adversarial/localized.py.
_base_ = [
    '../clean/fpn_r18_clean_digitscenes.py',
    '../_base_/adversarial/localized.py',
]
# DigitScenes' background is class 0 (the digits are 1-10).
custom_hooks = [dict(_base_.custom_hooks[0], victim=dict(background_classes=[0]))]
