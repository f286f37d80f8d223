# AdvBN feature attack (Shu et al. 2021, official defaults): per-channel mean and std of
# the backbone's layer1 output scaled by factors in [1 - 1.1, 1 + 1.1], 6 signed steps
# of 0.2. Changes no pixel: the AdversarialHook applies it during the model's forward.
attack = dict(type='mmgat.AdvBN', layer='backbone.layer1', steps=6, step_size=0.2,
              tau=1.1)
