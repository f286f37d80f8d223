"""mmengine's CheckpointHook made crash-safe on a local disk (atomic files, safe deletion)."""
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from mmgat.registry import HOOKS
from mmgat.utils.atomic_write import write_text_atomic
from mmgat.utils.checkpoint_files import (ATOMIC_LOCAL_BACKEND, LAST_CHECKPOINT,
                                          checkpoint_problem)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` (same arguments) made crash-safe on a local disk.

    * Each checkpoint is written to a temporary file beside its final name, fsync'ed and
      renamed over it (:class:`mmgat.utils.checkpoint_files.AtomicLocalBackend`): a crash
      or a full disk during the save leaves the previous file under that name, or none,
      never a truncated one.
    * ``WORK_DIR/last_checkpoint`` is replaced the same way, after the checkpoint is
      complete, so it never names a checkpoint that is still being written.
    * With ``max_keep_ckpts``, outdated checkpoints are deleted after the new one is
      complete (and found readable), not before as in mmengine, where
      ``max_keep_ckpts=1`` and a crash during the save leave no checkpoint at all.

    ``tools/train.py`` uses it in place of ``CheckpointHook``. With another train script,
    name it in the config; for a remote ``out_dir`` (``s3://`` ...) or explicit
    ``backend_args`` it behaves as mmengine's hook.

    Example:
        >>> default_hooks = dict(checkpoint=dict(
        ...     type='mmgat.AtomicCheckpointHook', by_epoch=False, interval=200,
        ...     max_keep_ckpts=2))
    """

    def before_train(self, runner) -> None:
        out_dir = self.out_dir if self.out_dir is not None else runner.work_dir
        self._atomic = (self.file_client_args is None and '://' not in str(out_dir)
                        and self.backend_args in (None, {}, {'backend': 'local'}))
        if self._atomic:
            self.backend_args = dict(backend=ATOMIC_LOCAL_BACKEND)
        super().before_train(runner)

    def _save_checkpoint_with_step(self, runner, step, meta):
        if not getattr(self, '_atomic', False):
            return super()._save_checkpoint_with_step(runner, step, meta)
        # The bookkeeping of mmengine's hook (keep_ckpt_ids is saved in the checkpoint),
        # but the outdated files are only deleted below.
        outdated = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids
                                            and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir, ckpt_filename, self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler, meta=meta,
            by_epoch=self.by_epoch, backend_args=self.backend_args, **self.args)
        if not is_main_process():
            return
        write_text_atomic(osp.join(runner.work_dir, LAST_CHECKPOINT), self.last_ckpt)
        self._remove_outdated(runner, outdated)

    def _remove_outdated(self, runner, steps) -> None:
        paths = [self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(s))
                 for s in steps]
        paths = [p for p in paths if p != self.last_ckpt]
        if not paths:
            return
        problem = checkpoint_problem(self.last_ckpt)
        if problem is not None:  # keep what may be the only readable checkpoint
            runner.logger.warning(f'{problem}; keeping the older {", ".join(paths)}')
            return
        for path in paths:
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):  # deepspeed saves directories
                self.file_backend.rmtree(path)
