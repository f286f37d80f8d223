# L-inf PGD, eps 4/255, 10 steps
attack = dict(type='mmgat.PGD', eps=4 / 255, alpha=1 / 255, steps=10, norm='linf')
