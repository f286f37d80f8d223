# No attack: every image replaced by the generator's reconstruction of it. A detector's
# score on these against its score on the real images shows whether the generator keeps
# the labels valid (python tools/test.py DET_CONFIG DET_CKPT --attack THIS_FILE).
_base_ = ['../generators/style-ae_digitscenes.py']
attack = dict(type='mmgat.LatentAttack', generator={{_base_.generator}}, eps=0.0,
              steps=1, residual=False)
