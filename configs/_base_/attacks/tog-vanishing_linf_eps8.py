# TOG-vanishing (Chow et al. 2020), L-inf eps 8/255, 10 steps: descend the detector's
# loss against empty ground truth, so that objects vanish; detection only
attack = dict(type='mmgat.TOGVanishing', eps=8 / 255, alpha=2 / 255, steps=10,
              norm='linf')
