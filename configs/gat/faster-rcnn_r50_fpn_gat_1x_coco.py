# Generative adversarial training (GAT: latent attacks through a style autoencoder) of
# the clean Faster R-CNN R-50-FPN 1x on COCO (clean/faster-
# rcnn_r50_fpn_clean_1x_coco.py); the hook and what it does:
# configs/_base_/adversarial/gat.py.
# Needs the trained generator of this dataset:
#   python tools/train_generator.py configs/generators/style-ae_coco.py
# -> work_dirs/style-ae_coco/generator.pth (another one: --cfg-options
#    custom_hooks.0.attack.generator.checkpoint=PATH)
_base_ = [
    '../clean/faster-rcnn_r50_fpn_clean_1x_coco.py',
    '../_base_/adversarial/gat.py',
    '../_base_/generators/style-ae_coco.py',
]
# The fragment leaves the generator open (as gat_scenes.py does for DigitScenes).
custom_hooks = [
    dict(_base_.custom_hooks[0],
         attack=dict(_base_.custom_hooks[0].attack, generator=_base_.generator)),
]
