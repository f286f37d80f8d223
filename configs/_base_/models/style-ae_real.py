# The GAT generator of the real-scale datasets (configs/generators/style-ae_{coco,voc,
# cityscapes,ade20k}.py): a style-based autoencoder with coarse / mid / fine latents
# (mmgat.StyleAutoEncoder), scored by its reconstruction PSNR. Fully convolutional
# (apart from the pooled styles), so the GAT attack runs it on the whole padded batch.
default_scope = 'mmgat'

# Twice the DigitScenes widths: natural images carry more texture than digit scenes.
model = dict(
    type='mmgat.StyleAutoEncoder',
    encoder_channels=(32, 64, 128, 128),   # at 1/1, 1/2, 1/4, 1/8
    decoder_channels=(128, 128, 64, 32),   # at 1/8, 1/4, 1/2, 1/1
    latent_channels=32,
    loss_weights=dict(l1=1.0, grad=1.0, ms=0.5),
    # no colour permutations: val has the colours of train (there is no val_ood here)
    train_color_aug=False,
    data_preprocessor=dict(type='ImgDataPreprocessor', bgr_to_rgb=True, pad_size_divisor=8))
val_evaluator = dict(type='mmgat.ReconstructionPSNR')
test_evaluator = val_evaluator
