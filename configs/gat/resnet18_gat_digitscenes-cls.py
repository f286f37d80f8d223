# Generative adversarial training (GAT) of the clean classifier; the hook and what it does:
# configs/_base_/adversarial/gat_digits.py. Needs the trained generator:
#   python tools/train_generator.py configs/generators/style-ae_digitscenes-cls.py
_base_ = [
    '../clean/resnet18_clean_digitscenes-cls.py',
    '../_base_/adversarial/gat_digits.py',
]
