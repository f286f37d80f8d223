# Shared adversarial training (Mummadi et al.): the batch is split into heaps of
# `heap_size` images; one L-inf perturbation per heap maximises the heap's summed loss.
# Set for batches of 8 (heaps of 4, 3 steps of 0.5 * eps); the classification config
# (batch 32) overrides heap_size, steps and the loss truncation from its _base_.
# The hook of configs/shared/*:
#   _base_ = [<clean config>, '../_base_/adversarial/shared.py']
# One field from the command line: --cfg-options custom_hooks.0.attack.heap_size=2
custom_hooks = [
    dict(type='mmgat.AdversarialHook',
         attack=dict(type='mmgat.SharedPGD', heap_size=4, eps=8 / 255, alpha=4 / 255,
                     steps=3, norm='linf', random_start=True),
         mode='replace', ratio=1.0, phase='train'),
]
