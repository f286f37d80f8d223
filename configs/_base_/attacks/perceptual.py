# Perceptual attack: LPIPS on the model's own backbone <= 0.2 (self-bounded), cap 16/255
attack = dict(type='mmgat.PerceptualAttack', bound=0.2, eps=16 / 255, alpha=2 / 255,
              steps=10, bisection_steps=5)
