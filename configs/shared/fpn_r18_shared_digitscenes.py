# Shared adversarial training (Mummadi et al.): heaps of 4 images share one perturbation.
_base_ = ['../clean/fpn_r18_clean_digitscenes.py']
custom_hooks = [
    dict(type='mmgat.SafeCheckpointHook'),
    dict(type='mmgat.AdversarialHook',
         attack=dict(type='mmgat.SharedPGD', heap_size=4, eps=8 / 255, alpha=4 / 255,
                     steps=3, norm='linf', random_start=True),
         mode='replace', ratio=1.0, phase='train'),
]
