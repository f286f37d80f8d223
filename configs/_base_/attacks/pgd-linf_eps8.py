# L-inf PGD, eps 8/255, 10 steps
attack = dict(type='mmgat.PGD', eps=8 / 255, alpha=2 / 255, steps=10, norm='linf')
