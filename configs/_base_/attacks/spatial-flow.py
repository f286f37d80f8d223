# stAdv-style spatial attack: smooth flow (control points 4 px apart), |flow| <= 1 px
attack = dict(type='mmgat.SpatialFlow', eps=1.0, alpha=0.25, steps=10, stride=4, tau=0.05)
