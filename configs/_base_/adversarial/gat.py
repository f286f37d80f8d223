# Generative adversarial training (Yang et al., ICCV 2021): half of every batch is
# replaced by adversarial re-syntheses (clean : adversarial = 1 : 1, as in the paper);
# each batch perturbs the latents of one level (coarse / mid / fine, drawn at random),
# so training sees the whole spectrum. Two latent steps keep an iteration at about twice
# the cost of a clean one (three: 2.5x).
# No generator here: gat_scenes.py (128 px scenes) and gat_digits.py (32 px digits) add
# it, and the method configs name one of those two.
custom_hooks = [
    dict(type='mmgat.AdversarialHook',
         attack=dict(type='mmgat.LatentAttack', generator=None,
                     levels=('coarse', 'mid', 'fine'), level_sampling='random',
                     eps=dict(coarse=0.5, mid=0.5, fine=0.5), steps=2),
         mode='replace', ratio=0.5, phase='train'),
]
