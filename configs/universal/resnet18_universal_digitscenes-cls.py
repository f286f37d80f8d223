# Universal adversarial training of the clean classifier; the hook and what it does:
# configs/_base_/adversarial/universal.py.
_base_ = [
    '../clean/resnet18_clean_digitscenes-cls.py',
    '../_base_/adversarial/universal.py',
]
