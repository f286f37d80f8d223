# Universal adversarial training (Shafahi et al., AAAI 2020): one persistent
# perturbation (eps 8/255), one signed-gradient step of 1/255 per iteration; every batch
# is trained clean + with the perturbation (mode='append'). The perturbation is saved in
# each checkpoint and restored on --resume.
# The hook of configs/universal/*:
#   _base_ = [<clean config>, '../_base_/adversarial/universal.py']
# One field from the command line: --cfg-options custom_hooks.0.attack.alpha=0.002
custom_hooks = [
    dict(type='mmgat.AdversarialHook',
         attack=dict(type='mmgat.UniversalPerturbation', eps=8 / 255, alpha=1 / 255),
         mode='append',
         phase='train'),
]
