# L2 PGD, per-image L2 radius 0.5 on the 0-1 scale (127.5 in 0-255 pixels), 10 steps
attack = dict(type='mmgat.PGD', eps=0.5, alpha=0.1, steps=10, norm='l2')
