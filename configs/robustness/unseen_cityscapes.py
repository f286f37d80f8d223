# The unseen-robustness suite for a Cityscapes segmentor (configs/*/*_cityscapes-512x1024.py),
# sized for one GPU node: the entries of unseen_digitscenes.py that apply to a
# segmentor, on subsets of the 500 val images at full resolution (2048x1024).
#
#   python tools/train_generator.py configs/generators/style-ae_cityscapes.py  # GAT, granularity
#   python tools/test.py CONFIG CKPT --robustness configs/robustness/unseen_cityscapes.py \
#       --work-dir work_dirs/robustness/NAME
#   bash tools/dist_test.sh CONFIG CKPT 4 --robustness configs/robustness/unseen_cityscapes.py
#   python tools/test.py CONFIG CKPT --robustness configs/robustness/unseen_cityscapes.py \
#       --num-images 2     # a smoke test: every entry on 2 images
#
# Cityscapes has no out-of-domain split: val_ood is left out (the corruptions and the
# generator attacks stand for the distribution shifts). Sizes (assumed, not measured on
# a GPU): clean on all 500 images; the pixel attacks (10-step APGD, SegPGD, CosPGD, the
# smooth attacks, AdvBN) on 100; GAT on 50; granularity on 20 per generator layer; the
# 19 corruptions x 5 severities on 50 each (CPU work: the config's 4 loader workers per
# split). One image per batch, mmseg's test batch (whole 1024x2048 images; the attack's
# backward pass at this size takes about 4x the memory of a 512x1024 training batch).
_base_ = ['./unseen_digitscenes.py']

_generator = dict(config='configs/generators/style-ae_cityscapes.py',
                  checkpoint='work_dirs/style-ae_cityscapes/generator.pth')
generator = dict(_delete_=True, segmentation=_generator)
batch_size = None    # the config's test batch (1)
num_workers = None   # the config's loader workers

# val_ood: no such split; TOG: a detection attack.
skip = ['val_ood', 'tog-vanishing_linf_eps8']

_pixel = dict(num_images=100)
entry_options = {
    'clean': dict(num_images=None),
    'apgd-linf_eps2': _pixel,
    'apgd-linf_eps4': _pixel,
    'apgd-linf_eps8': _pixel,
    'apgd-l2_eps0.5': _pixel,
    'segpgd-linf_eps8': _pixel,
    'cospgd-linf_eps8': _pixel,
    'recolor': _pixel,
    'spatial': _pixel,
    'perceptual': _pixel,
    'advbn': _pixel,
    # sPGD: 100 updates of 4 training crops (512x1024), fitted to the whole images
    'universal': dict(iters=100, train_batch_size=4),
    # the background of Cityscapes: its "stuff" train ids (road, sidewalk, building,
    # wall, fence, vegetation, terrain, sky), as in configs/_base_/datasets/real/cityscapes.py
    'apgd-linf_eps8_background': dict(
        _pixel, victim=dict(background_classes=[0, 1, 2, 3, 4, 8, 9, 10])),
    'gat-coarse': dict(num_images=50),
    'gat-mid': dict(num_images=50),
    'gat-fine': dict(num_images=50),
    'granularity': dict(num_images=20),
    'corruptions': dict(num_images=50),
}
