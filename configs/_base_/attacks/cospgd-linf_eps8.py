# CosPGD (Agnihotri et al. 2024), L-inf eps 8/255, 10 steps; segmentation only
attack = dict(type='mmgat.CosPGD', eps=8 / 255, alpha=2 / 255, steps=10, norm='linf')
