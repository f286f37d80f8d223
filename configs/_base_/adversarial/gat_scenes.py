# GAT (gat.py) through the trained 128 px DigitScenes scene generator: the hook of the
# detection and segmentation configs in configs/gat/. Make the generator with:
#   python tools/train_generator.py configs/generators/style-ae_digitscenes.py
# Another checkpoint: --cfg-options custom_hooks.0.attack.generator.checkpoint=PATH
# (not `generator.checkpoint=PATH`: the hook holds a copy of `generator`, made when this
# file is read).
_base_ = ['./gat.py', '../generators/style-ae_digitscenes.py']
custom_hooks = [
    dict(_base_.custom_hooks[0],
         attack=dict(_base_.custom_hooks[0].attack, generator=_base_.generator)),
]
