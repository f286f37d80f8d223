# The control of shared adversarial training's claim (Mummadi et al.: heaps of several
# images make a model more robust to universal perturbations than heaps of one): the
# shared segmentor config with heap_size=1, i.e. one perturbation per image at the
# same budget, steps and mode. Run beside `shared` by:
#   python tools/compare.py --tasks segmentation --methods shared-heap1 --seeds 0
_base_ = ['./fpn_r18_shared_digitscenes.py']
custom_hooks = [
    dict(_base_.custom_hooks[0], attack=dict(_base_.custom_hooks[0].attack, heap_size=1)),
]
