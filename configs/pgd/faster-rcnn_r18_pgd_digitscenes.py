# PGD adversarial training of the clean detector; the hook and what it does:
# configs/_base_/adversarial/pgd.py.
_base_ = [
    '../clean/faster-rcnn_r18_clean_digitscenes.py',
    '../_base_/adversarial/pgd.py',
]
