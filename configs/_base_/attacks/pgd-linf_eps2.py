# L-inf PGD, eps 2/255, 10 steps: `tools/test.py CONFIG CKPT --attack THIS_FILE`
attack = dict(type='mmgat.PGD', eps=2 / 255, alpha=0.5 / 255, steps=10, norm='linf')
