# PGD adversarial training (Madry et al.): clean and L-inf PGD images 1:1 in every batch.
# The hook of configs/pgd/*: _base_ = [<clean config>, '../_base_/adversarial/pgd.py'].
# One field from the command line: --cfg-options custom_hooks.0.attack.eps=0.0157
custom_hooks = [
    dict(type='mmgat.AdversarialHook',
         attack=dict(type='mmgat.PGD', eps=4 / 255, alpha=1.5 / 255, steps=3,
                     norm='linf', random_start=True),
         mode='append', ratio=1.0, phase='train'),
]
