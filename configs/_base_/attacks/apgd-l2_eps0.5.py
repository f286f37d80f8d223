# APGD, per-image L2 radius 0.5 on the 0-1 scale (127.5 in 0-255 pixels), 100 steps
attack = dict(type='mmgat.APGD', eps=0.5, norm='l2', steps=100, loss='ce', restarts=1)
