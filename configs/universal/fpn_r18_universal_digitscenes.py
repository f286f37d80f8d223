# Universal adversarial training (Shafahi et al., AAAI 2020) of the clean segmentor:
# one persistent perturbation (eps 8/255), one signed-gradient step of 1/255 per
# iteration; every batch is trained clean + with the perturbation (mode='append').
# The perturbation is saved in each checkpoint and restored on --resume.
_base_ = ['../clean/fpn_r18_clean_digitscenes.py']

# mmengine replaces lists from _base_ instead of merging them: repeat the
# SafeCheckpointHook of the runtime.
custom_hooks = [
    dict(type='mmgat.SafeCheckpointHook'),
    dict(type='mmgat.AdversarialHook',
         attack=dict(type='mmgat.UniversalPerturbation', eps=8 / 255, alpha=1 / 255),
         mode='append',
         phase='train'),
]
