# Localized adversarial training (Rothberg et al.): PGD restricted to the background
# (outside GT boxes / the background classes' pixels / outside the digit mask); the
# foreground stays bit-identical.
# A segmentor's background classes depend on the dataset, so a segmentation config adds
# them to the hook (without them the hook stops before training, naming the field):
#   custom_hooks = [dict(_base_.custom_hooks[0], victim=dict(background_classes=[0]))]
# The hook of configs/localized/*:
#   _base_ = [<clean config>, '../_base_/adversarial/localized.py']
# One field from the command line: --cfg-options custom_hooks.0.attack.eps=0.0157
custom_hooks = [
    dict(type='mmgat.AdversarialHook',
         attack=dict(type='mmgat.PGD', eps=8 / 255, alpha=2.5 / 255, steps=3,
                     norm='linf', random_start=True, mask='background'),
         mode='append', ratio=1.0, phase='train'),
]
