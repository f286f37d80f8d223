# APGD (Croce & Hein 2020, AutoAttack's core), L-inf eps 8/255, 100 steps, cross-entropy
# (the task loss for detection: one image at a time, see mmgat.attacks.APGD)
attack = dict(type='mmgat.APGD', eps=8 / 255, norm='linf', steps=100, loss='ce',
              restarts=1)
