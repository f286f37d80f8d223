# Generative adversarial training (GAT: latent attacks through a style autoencoder) of the
# clean DeepLabV3+ R-50-D8 on ADE20K
# (clean/deeplabv3plus_r50-d8_clean_4xb4-80k_ade20k-512x512.py); the hook and what it
# does: configs/_base_/adversarial/gat.py.
# Needs the trained generator of this dataset:
#   python tools/train_generator.py configs/generators/style-ae_ade20k.py
# -> work_dirs/style-ae_ade20k/generator.pth (another one: --cfg-options
#    custom_hooks.0.attack.generator.checkpoint=PATH)
_base_ = [
    '../clean/deeplabv3plus_r50-d8_clean_4xb4-80k_ade20k-512x512.py',
    '../_base_/adversarial/gat.py',
    '../_base_/generators/style-ae_ade20k.py',
]
# The fragment leaves the generator open (as gat_scenes.py does for DigitScenes).
custom_hooks = [
    dict(_base_.custom_hooks[0],
         attack=dict(_base_.custom_hooks[0].attack, generator=_base_.generator)),
]
