# The unseen-robustness suite for an ADE20K segmentor (configs/*/*_ade20k-512x512.py),
# sized for one GPU node: the entries of unseen_digitscenes.py that apply to a
# segmentor, on subsets of the 2000 validation images (short side 512).
#
#   python tools/train_generator.py configs/generators/style-ae_ade20k.py  # GAT, granularity
#   python tools/test.py CONFIG CKPT --robustness configs/robustness/unseen_ade20k.py \
#       --work-dir work_dirs/robustness/NAME
#   bash tools/dist_test.sh CONFIG CKPT 4 --robustness configs/robustness/unseen_ade20k.py
#   python tools/test.py CONFIG CKPT --robustness configs/robustness/unseen_ade20k.py \
#       --num-images 2     # a smoke test: every entry on 2 images
#
# ADE20K has no out-of-domain split: val_ood is left out (the corruptions and the
# generator attacks stand for the distribution shifts). Sizes (assumed, not measured on
# a GPU; images have a quarter of a Cityscapes image's pixels): clean on all 2000
# images; the pixel attacks (10-step APGD, SegPGD, CosPGD, the smooth attacks, AdvBN)
# on 200; GAT on 100; granularity on 40 per generator layer; the 19 corruptions x 5
# severities on 100 each. One image per batch: mmseg's test batch, since the images
# differ in size and mmseg's preprocessor stacks them unpadded in test.
_base_ = ['./unseen_digitscenes.py']

_generator = dict(config='configs/generators/style-ae_ade20k.py',
                  checkpoint='work_dirs/style-ae_ade20k/generator.pth')
generator = dict(_delete_=True, segmentation=_generator)
batch_size = None    # the config's test batch (1)
num_workers = None   # the config's loader workers

# val_ood: no such split; TOG: a detection attack.
skip = ['val_ood', 'tog-vanishing_linf_eps8']

_pixel = dict(num_images=200)
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
    # sPGD: 100 updates of 8 training crops (512x512), fitted to the whole images
    'universal': dict(iters=100, train_batch_size=8),
    # the background of ADE20K: its "stuff" classes (wall, building, sky, floor,
    # ceiling, road, grass, ...), as in configs/_base_/datasets/real/ade20k.py
    'apgd-linf_eps8_background': dict(
        _pixel, victim=dict(background_classes=[0, 1, 2, 3, 5, 6, 9, 11, 13, 16, 21, 26,
                                                29, 46, 52, 60, 68, 91, 94, 128])),
    'gat-coarse': dict(num_images=100),
    'gat-mid': dict(num_images=100),
    'gat-fine': dict(num_images=100),
    'granularity': dict(num_images=40),
    'corruptions': dict(num_images=100),
}
