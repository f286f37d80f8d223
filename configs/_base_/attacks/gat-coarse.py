# GAT latent attack on the coarse level only (layout and shape), budget 0.5 x each latent's
# spread, 5 signed-gradient steps, through the DigitScenes 128 px generator.
_base_ = ['../generators/style-ae_digitscenes.py']
attack = dict(type='mmgat.LatentAttack', generator={{_base_.generator}}, levels='coarse',
              eps=0.5, steps=5)
