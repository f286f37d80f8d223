# The default robustness suite: what a DigitScenes model (detector, segmentor or
# classifier) meets at test time that it may never have seen in training.
#
#   python tools/test.py CONFIG CKPT --robustness configs/robustness/unseen_digitscenes.py \
#       --work-dir work_dirs/robustness/NAME
#
# Writes NAME/robustness.json (scores, unseen mean, mPC / rPC, seconds per entry),
# NAME/robustness.md and PNG plots; an interrupted run started again skips what is done.
# Entry kinds and keys: mmgat/evaluation/kinds/ (one file per kind). Every score gets a
# 95% bootstrap interval over images (bootstrap = dict(replicates=1000, seed=0)); set
# strength_check = dict(num_images=16) to check that the iterative attacks converged.
# The sizes below (num_images, steps) keep the whole suite for the Faster R-CNN R-18 detector within 15 minutes on a 2-core
# CPU (about 10 minutes with one thread: clean / val_ood / universal on all 300 images,
# pixel attacks and AdvBN on 48, GAT on 32, granularity on 12 per layer, corruptions on
# 32 per corruption and severity). `num_images` takes that many evenly spaced images of
# the split (the same ones for every entry of equal size). Re-parametrise in a suite of
# your own:
#
#   _base_ = ['./unseen_digitscenes.py']
#   skip = ['granularity']
#   entry_options = {'apgd-linf_eps8': dict(num_images=300, attack_options=dict(steps=100))}
#   extra_entries = [dict(name='fgsm', kind='attack',
#                         attack='configs/_base_/attacks/fgsm-linf_eps8.py')]
_attacks = '{{ fileDirname }}/../_base_/attacks/'
_scenes = dict(config='configs/generators/style-ae_digitscenes.py',
               checkpoint='work_dirs/style-ae_digitscenes/generator.pth')

batch_size = 8
# Loading in the main process: on a CPU, starting workers for each of the ~100 units
# costs more than it saves. None (or leaving it out) uses each split's dataloader's
# workers from the model config, what a GPU node wants (corruptions are CPU work).
num_workers = 0
# The generator of the GAT and granularity attacks, per task (classification uses the
# 32 px one): python tools/train_generator.py CONFIG makes the checkpoints. Written out
# as dicts (those of configs/_base_/generators/) so that a suite deriving from this one
# can replace one with `generator = dict(classification=dict(config=..., checkpoint=...))`.
generator = dict(
    detection=_scenes,
    segmentation=_scenes,
    classification=dict(config='configs/generators/style-ae_digitscenes-cls.py',
                        checkpoint='work_dirs/style-ae_digitscenes-cls/generator.pth'))

# L-p attacks: APGD (Croce & Hein 2020: step-size checkpoints, momentum, restarts from
# the best point), 10 steps: 5-step PGD over-states robustness (RobustBench). The
# smooth-function attacks keep 5 steps of their own update.
_pixel = dict(kind='attack', num_images=48)
_apgd = dict(steps=10)
# GAT latent attack, one level at a time (budgets in units of the latent's std, as in
# configs/gat/: 0.5 for every level).
_gat = dict(kind='attack', num_images=32)

entries = [
    dict(name='clean', kind='clean'),
    dict(name='val_ood', kind='split', split='val_ood'),
    dict(name='apgd-linf_eps2', attack=_attacks + 'apgd-linf_eps8.py',
         attack_options=dict(_apgd, eps=2 / 255), **_pixel),
    dict(name='apgd-linf_eps4', attack=_attacks + 'apgd-linf_eps8.py',
         attack_options=dict(_apgd, eps=4 / 255), **_pixel),
    dict(name='apgd-linf_eps8', attack=_attacks + 'apgd-linf_eps8.py',
         attack_options=_apgd, **_pixel),
    dict(name='apgd-l2_eps0.5', attack=_attacks + 'apgd-l2_eps0.5.py',
         attack_options=_apgd, **_pixel),
    # task-specific attacks: the suite leaves them out for models of other tasks
    dict(name='segpgd-linf_eps8', attack=_attacks + 'segpgd-linf_eps8.py',
         tasks=['segmentation'], **_pixel),
    dict(name='cospgd-linf_eps8', attack=_attacks + 'cospgd-linf_eps8.py',
         tasks=['segmentation'], **_pixel),
    dict(name='tog-vanishing_linf_eps8', attack=_attacks + 'tog-vanishing_linf_eps8.py',
         tasks=['detection'], **_pixel),
    dict(name='recolor', attack=_attacks + 'recolor.py',
         attack_options=dict(steps=5), **_pixel),
    dict(name='spatial', attack=_attacks + 'spatial-flow.py',
         attack_options=dict(steps=5), **_pixel),
    dict(name='perceptual', attack=_attacks + 'perceptual.py',
         attack_options=dict(steps=5), **_pixel),
    # sPGD on train (40 updates of 8 images), then added to every val image.
    dict(name='universal', kind='universal', eps=8 / 255, alpha=1 / 255, norm='linf',
         iters=40, train_batch_size=8),
    dict(name='apgd-linf_eps8_background', attack=_attacks + 'apgd-linf_eps8.py',
         attack_options=dict(_apgd, mask='background'),
         victim=dict(background_classes=[0]), **_pixel),
    # AdvBN: worst-case per-channel mean / std of the backbone's layer1 output.
    dict(name='advbn', attack=_attacks + 'advbn.py', **_pixel),
    dict(name='gat-coarse', attack=dict(type='mmgat.LatentAttack', levels=('coarse', ),
                                        level_sampling='all', eps=0.5, steps=5), **_gat),
    dict(name='gat-mid', attack=dict(type='mmgat.LatentAttack', levels=('mid', ),
                                     level_sampling='all', eps=0.5, steps=5), **_gat),
    dict(name='gat-fine', attack=dict(type='mmgat.LatentAttack', levels=('fine', ),
                                      level_sampling='all', eps=0.5, steps=5), **_gat),
    # One LayerActivationAttack per decoder layer of the generator (coarse -> fine).
    dict(name='granularity', kind='granularity', attack=dict(radius=0.5, steps=5),
         num_images=12),
    # All 19 corruptions (15 benchmark + 4 holdout) x severities 1-5, plus the same
    # images clean (the P of rPC).
    dict(name='corruptions', kind='corruption', corruptions='all',
         severities=[1, 2, 3, 4, 5], seed=0, num_images=32),
]
