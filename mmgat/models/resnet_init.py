"""``mmgat.ResNetDefaultInit``: mmdet's ResNet default initialisation, as an init_cfg dict.

mmdet's ``ResNet`` initialises itself (Kaiming normal on every conv, weight 1 / bias 0 on
every BN / GN and, with ``zero_init_residual`` (its default), 0 on the last norm of each
residual block) only when built with ``init_cfg=None``: any dict replaces all of it.
mmdet's own ``tools/analysis_tools/test_robustness.py`` however sets
``cfg.model.backbone.init_cfg.type = None`` (meant to skip a pretrained download), which
fails on ``init_cfg=None``. ``init_cfg=dict(type='mmgat.ResNetDefaultInit')`` is a dict
with the same effect as ``init_cfg=None``: the same calls in the same order, so the
weights are bit-identical for the same seed (tests/models/test_resnet_default_init.py).
"""
from mmengine.model import BaseInit, initialize

from ..registry import WEIGHT_INITIALIZERS

# What mmdet's ResNet.__init__ sets as its own init_cfg when given init_cfg=None ...
_RESNET_INIT = [
    dict(type='Kaiming', layer='Conv2d'),
    dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
]
# ... and as the init_cfg of each block of its stages when zero_init_residual is set (for
# exactly these two block classes: mmdet tests `block is BasicBlock` / `is Bottleneck`).
_BLOCK_INIT = {
    'BasicBlock': dict(type='Constant', val=0, override=dict(name='norm2')),
    'Bottleneck': dict(type='Constant', val=0, override=dict(name='norm3')),
}


@WEIGHT_INITIALIZERS.register_module()
class ResNetDefaultInit(BaseInit):
    """Initialise an mmdet ``ResNet`` as it initialises itself with ``init_cfg=None``.

    mmengine's ``BaseModule.init_weights`` applies a module's own init_cfg before its
    children's ``init_weights``; for ``init_cfg=None`` mmdet's ResNet therefore runs its
    Kaiming / Constant list on the whole backbone, then each block's zero init. This
    initializer runs the same list, then each block's zero init, stage by stage; these
    inits draw no random numbers, so the random stream, and every weight, is the same.
    """

    def __call__(self, module):
        # mmdet is imported here, not with mmgat: `import mmgat` stays free of mmdet.models
        from mmdet.models.backbones.resnet import BasicBlock, Bottleneck, ResNet
        if not isinstance(module, ResNet):
            raise TypeError('mmgat.ResNetDefaultInit initialises an mmdet ResNet backbone, '
                            f'not {type(module).__name__}')
        initialize(module, _RESNET_INIT)
        block = module.arch_settings[module.depth][0]
        known = block in (BasicBlock, Bottleneck)
        block_init = _BLOCK_INIT.get(block.__name__) if known else None
        if module.zero_init_residual and block_init is not None:
            for layer_name in module.res_layers:
                for block in getattr(module, layer_name):
                    initialize(block, block_init)

    def _get_init_info(self):
        return f'{self.__class__.__name__}: mmdet ResNet default (init_cfg=None)'
