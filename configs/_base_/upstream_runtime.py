# What mmgat adds to an upstream (mmdet:: / mmseg::) config: the import that registers
# mmgat (for any OpenMMLab tool reading the config) and mmgat's two checkpoint hooks.
# mmengine refuses two bases that set the same key, and the upstream config already
# sets `default_hooks`, so the hooks come as `mmgat_default_hooks`, which the config
# merges into the upstream ones in its own body:
#   _base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
#             '../_base_/datasets/real/coco_detection.py', '../_base_/upstream_runtime.py']
#   default_hooks = _base_.mmgat_default_hooks
custom_imports = dict(imports=['mmgat'], allow_failed_imports=False)
mmgat_default_hooks = dict(
    # mmengine's CheckpointHook with atomic writes (the upstream interval etc. stay)
    checkpoint=dict(type='mmgat.AtomicCheckpointHook'),
    # checkpoints that load with torch.load(weights_only=True) (mmgat.utils.compat)
    safe_checkpoint=dict(type='mmgat.SafeCheckpointHook'))
