# Shared adversarial training (Mummadi et al.) for the classifier: heaps of 8 in a batch
# of 32, per-example loss truncated at kappa = -log(0.2) with label smoothing 0.1, so one
# example cannot dominate its heap's loss; step 0.5 * eps as in the reimplementation.
_base_ = ['../clean/resnet18_clean_digitscenes-cls.py']
custom_hooks = [
    dict(type='mmgat.SafeCheckpointHook'),
    dict(type='mmgat.AdversarialHook',
         attack=dict(type='mmgat.SharedPGD', heap_size=8, eps=8 / 255, alpha=4 / 255,
                     steps=4, norm='linf', random_start=True, kappa=1.6094379124341003,
                     label_smoothing=0.1),
         mode='replace', ratio=1.0, phase='train'),
]
