# The control of shared adversarial training's claim (Mummadi et al.: heaps of several
# images make a model more robust to universal perturbations than heaps of one): the
# shared classifier config with heap_size=1, i.e. one perturbation per image at the
# same budget, steps, loss truncation and mode. Run beside `shared` by:
#   python tools/compare.py --tasks classification --methods shared-heap1 --seeds 0 1 2
_base_ = ['./resnet18_shared_digitscenes-cls.py']
custom_hooks = [
    dict(_base_.custom_hooks[0], attack=dict(_base_.custom_hooks[0].attack, heap_size=1)),
]
