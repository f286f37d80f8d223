# Localized adversarial training (Rothberg et al.): PGD restricted to the background
# (outside GT boxes / class-0 pixels / outside the digit mask); the foreground stays
# bit-identical.
_base_ = ['../clean/fpn_r18_clean_digitscenes.py']
custom_hooks = [
    dict(type='mmgat.SafeCheckpointHook'),
    dict(type='mmgat.AdversarialHook',
         attack=dict(type='mmgat.PGD', eps=8 / 255, alpha=2.5 / 255, steps=3,
                     norm='linf', random_start=True, mask='background'),
         mode='append', ratio=1.0, phase='train',
         victim=dict(background_classes=[0])),
]
