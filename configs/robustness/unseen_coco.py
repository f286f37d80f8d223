# The robustness suite for COCO detectors (configs/<method>/*_1x_coco.py), sized for one
# GPU node: the entries of unseen_digitscenes.py that apply to natural images.
#
#   python tools/test.py CONFIG CKPT --robustness configs/robustness/unseen_coco.py \
#       --work-dir work_dirs/robustness/NAME
#   bash tools/dist_test.sh CONFIG CKPT 8 --robustness configs/robustness/unseen_coco.py
#
# Left out: `val_ood` (COCO has no out-of-domain split; DigitScenes stand-ins written
# with --num-val-ood have one, but the real-scale configs do not read it). The GAT and
# granularity entries use the COCO generator
# (python tools/train_generator.py configs/generators/style-ae_coco.py).
# Sizes: clean on all 5000 val2017 images; L-p, colour, spatial, perceptual and AdvBN
# attacks on 500 (APGD 10 steps); GAT on 500; granularity on 100 per generator layer;
# universal: sPGD with 200 updates of 8 train images; all 19 corruptions at severities
# 1-5 on 1000 images (95 passes; the full benchmark: entry_options =
# {'corruptions': dict(num_images=None)}). `--num-images N` sets every entry's size.
_base_ = ['./unseen_digitscenes.py']
skip = ['val_ood']

# Images of 1333 x 800: 4 per batch (attacks keep gradients of the whole batch).
batch_size = 4
# Each split's dataloader workers from the model config: corruptions are CPU work.
num_workers = None
generator = dict(
    _delete_=True,
    detection=dict(config='configs/generators/style-ae_coco.py',
                   checkpoint='work_dirs/style-ae_coco/generator.pth'))

_pixel = dict(num_images=500)
entry_options = {
    **{name: _pixel for name in (
        'apgd-linf_eps2', 'apgd-linf_eps4', 'apgd-linf_eps8', 'apgd-l2_eps0.5',
        'tog-vanishing_linf_eps8', 'recolor', 'spatial', 'perceptual',
        'apgd-linf_eps8_background', 'advbn', 'gat-coarse', 'gat-mid', 'gat-fine')},
    'universal': dict(iters=200, train_batch_size=8),
    'granularity': dict(num_images=100),
    'corruptions': dict(num_images=1000),
}
# COCO's AP (IoU 0.50:0.95), the P / mPC of the corruption benchmark.
metric = 'coco/bbox_mAP'
