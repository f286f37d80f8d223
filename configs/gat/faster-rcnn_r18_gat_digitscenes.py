# Generative adversarial training (GAT) of the clean detector; the hook and what it does:
# configs/_base_/adversarial/gat_scenes.py. Needs the trained generator:
#   python tools/train_generator.py configs/generators/style-ae_digitscenes.py
_base_ = [
    '../clean/faster-rcnn_r18_clean_digitscenes.py',
    '../_base_/adversarial/gat_scenes.py',
]
