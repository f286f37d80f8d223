# Image classifier: ResNet-18 of configurable width, global pooling and a linear head.
# The last stage keeps stride 1, so a 32 px digit still has a 2x2 map to pool.
width = 32
model = dict(
    type='mmgat.ImageClassifier',
    data_preprocessor=dict(
        type='ImgDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(
        type='mmdet.ResNet',
        depth=18,
        base_channels=width,
        num_stages=4,
        strides=(1, 2, 2, 1),
        out_indices=(3, ),
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch'),
    num_classes=10,
    in_channels=width * 8)
