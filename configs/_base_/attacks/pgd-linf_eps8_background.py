# Localized L-inf PGD: only background pixels move (outside GT boxes, class-0 pixels,
# or outside the classification foreground mask).
attack = dict(type='mmgat.PGD', eps=8 / 255, alpha=2 / 255, steps=10, norm='linf',
              mask='background')
victim = dict(background_classes=[0])
