# FGSM: one L-inf step of eps 8/255
attack = dict(type='mmgat.FGSM', eps=8 / 255, norm='linf')
