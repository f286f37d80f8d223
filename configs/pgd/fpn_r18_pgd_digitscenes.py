# PGD adversarial training (Madry et al.): clean and L-inf PGD images 1:1 in every batch.
_base_ = ['../clean/fpn_r18_clean_digitscenes.py']
custom_hooks = [
    dict(type='mmgat.SafeCheckpointHook'),
    dict(type='mmgat.AdversarialHook',
         attack=dict(type='mmgat.PGD', eps=4 / 255, alpha=1.5 / 255, steps=3,
                     norm='linf', random_start=True),
         mode='append', ratio=1.0, phase='train'),
]
