# AdvBN training (Shu et al. 2021): every batch clean and with worst-case per-channel
# mean / std of the backbone's layer1 output, 1:1 (official defaults: 6 signed steps of
# 0.2, factors in [1 - 1.1, 1 + 1.1]). The paper fine-tunes a pretrained model with the
# layers before the cut frozen (here: model.backbone.frozen_stages=1) and gives the
# later layers an auxiliary BN for adversarial features; mmgat trains from scratch and
# patches no model, so clean and adversarial features share the batch norms.
# The hook of configs/advbn/*: _base_ = [<clean config>, '../_base_/adversarial/advbn.py'].
# One field from the command line: --cfg-options custom_hooks.0.attack.layer=backbone.layer2
custom_hooks = [
    dict(type='mmgat.AdversarialHook',
         attack=dict(type='mmgat.AdvBN', layer='backbone.layer1', steps=6,
                     step_size=0.2, tau=1.1),
         mode='append', ratio=1.0, phase='train'),
]
