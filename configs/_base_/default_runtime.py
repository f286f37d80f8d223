# Runtime shared by every mmgat config: iteration-based logging and checkpoints.
custom_imports = dict(imports=['mmgat'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # mmengine's CheckpointHook (same arguments) with atomic writes: a crash never leaves
    # a torn checkpoint or last_checkpoint, outdated ones go only after the new one is
    # complete (tools/train.py also puts it in place of a config's stock CheckpointHook).
    checkpoint=dict(type='mmgat.AtomicCheckpointHook', by_epoch=False, interval=200,
                    max_keep_ckpts=2, save_last=True),
    # Keeps checkpoints loadable with torch.load(weights_only=True) (mmgat.utils.compat).
    # A default hook, not a custom one: custom_hooks stays free for the method fragments
    # (configs/_base_/adversarial/), which sit next to a clean config in `_base_`, where
    # two bases may not both set a key.
    safe_checkpoint=dict(type='mmgat.SafeCheckpointHook'),
    sampler_seed=dict(type='DistSamplerSeedHook'))

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))  # tools/ switch to gloo on machines without CUDA

log_processor = dict(type='LogProcessor', window_size=20, by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)
