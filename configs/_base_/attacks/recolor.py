# ReColorAdv-style colour attack: smooth per-image RGB colour map, every offset <= 0.06
attack = dict(type='mmgat.ReColor', eps=0.06, alpha=0.015, steps=10, grid_size=8,
              smoothness=0.01)
