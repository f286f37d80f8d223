"""Checkpoint files: written so that a crash never tears one, and checked before use.

* :class:`AtomicLocalBackend` (mmengine file backend ``'mmgat_atomic_local'``) writes
  every file to a temporary file beside its final name, fsyncs it and renames it over
  the final name (:func:`mmgat.utils.atomic_write.atomic_write`).
  :class:`mmgat.hooks.AtomicCheckpointHook` saves checkpoints through it.
* :func:`checkpoint_problem` tells a readable checkpoint from a truncated one (what a
  crash or a full disk during a plain ``torch.save`` leaves) or from a file that is no
  checkpoint at all, without unpickling anything.
* :func:`find_resume_checkpoint` is ``--resume`` without a path: the checkpoint that
  ``WORK_DIR/last_checkpoint`` names, or, when that one cannot be read, the newest
  readable checkpoint in the work dir.
"""
import os
import os.path as osp
import re
import zipfile
from typing import List, Optional, Tuple

from mmengine.fileio import LocalBackend, register_backend

from .atomic_write import atomic_write
from .errors import UnreadableCheckpointError

#: Name of :class:`AtomicLocalBackend` in mmengine's file backends (``backend_args``).
ATOMIC_LOCAL_BACKEND = 'mmgat_atomic_local'
#: mmengine's pointer to the latest checkpoint of a work dir.
LAST_CHECKPOINT = 'last_checkpoint'

_ZIP_MAGIC = b'PK\x03\x04'
# torch's legacy format (torch<1.6, or _use_new_zipfile_serialization=False) starts with
# its pickled magic number: pickle opcode LONG1, 10 bytes.
_LEGACY_MAGIC = b'\x8a\x0a' + (0x1950a86a20f9469cfc6c).to_bytes(10, 'little')
# Checkpoint names with a step: iter_4.pth, epoch_3.pth, best_accuracy_top1_iter_4.pth.
_STEP_NAME = re.compile(r'(?:^|_)(\d+)\.pth$')


class AtomicLocalBackend(LocalBackend):
    """:class:`mmengine.fileio.LocalBackend` whose ``put`` / ``put_text`` are atomic.

    The destination holds the old content or the new one, never a part: the bytes go to
    a temporary file in the same folder, which is fsync'ed and then ``os.replace``-d
    over the destination; on any error the temporary file is removed. Select it with
    ``backend_args=dict(backend='mmgat_atomic_local')``.
    """

    def put(self, obj: bytes, filepath) -> None:
        filepath = str(filepath)
        if osp.exists(filepath) and not osp.isfile(filepath):
            return super().put(obj, filepath)  # a device or pipe: nothing to replace
        with atomic_write(filepath, 'wb') as f:
            f.write(obj)

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        self.put(obj.encode(encoding), filepath)


register_backend(ATOMIC_LOCAL_BACKEND, AtomicLocalBackend, force=True)


# ---------------------------------------------------------------------- checking files
def _file_kind(path: str) -> str:
    """``'zip'`` (torch>=1.6), ``'legacy'`` (older torch formats), ``'empty'`` or
    ``'other'``, from the first bytes of the file."""
    with open(path, 'rb') as f:
        head = f.read(512)
    if not head:
        return 'empty'
    if head.startswith(_ZIP_MAGIC):
        return 'zip'
    if head[:1] == b'\x80' and _LEGACY_MAGIC in head[:32]:
        return 'legacy'
    if head[257:262] == b'ustar':  # torch<0.4 wrote tar archives
        return 'legacy'
    return 'other'


def checkpoint_problem(path: str, deep: bool = False) -> Optional[str]:
    """Why ``path`` cannot be loaded as a PyTorch checkpoint (one line naming it), or
    None if it looks readable.

    The check never unpickles anything. It reads the first bytes and, for the zip
    archives that ``torch.save`` writes, the archive's central directory at its end
    (which a truncated file lacks) and whether it holds ``data.pkl``. ``deep`` also
    verifies the CRC of every record (reads the whole file). Files in torch's legacy
    formats are not checked.
    """
    path = str(path)
    if not osp.isfile(path):
        return f'no checkpoint at {path}'
    try:
        kind = _file_kind(path)
    except OSError as e:
        return f'cannot read checkpoint {path}: {e.strerror or e}'
    if kind == 'empty':
        return f'not a PyTorch checkpoint: {path} (the file is empty)'
    if kind == 'other':
        return f'not a PyTorch checkpoint: {path}'
    if kind == 'legacy':
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if not any(n == 'data.pkl' or n.endswith('/data.pkl') for n in names):
                return (f'not a PyTorch checkpoint: {path} (a zip archive without '
                        'data.pkl)')
            if deep:
                bad = archive.testzip()
                if bad is not None:
                    return (f'cannot read checkpoint {path}: it is corrupt (record {bad} '
                            'fails its CRC check)')
    except zipfile.BadZipFile as e:
        detail = ('no zip central directory at its end'
                  if 'not a zip file' in str(e) else str(e))
        return (f'cannot read checkpoint {path}: it is truncated or corrupt ({detail}; '
                'an interrupted save?)')
    except (OSError, EOFError, ValueError) as e:
        return f'cannot read checkpoint {path}: it is truncated or corrupt ({e})'
    return None


def check_checkpoint_file(path: str, deep: bool = False, prefix: str = '') -> None:
    """Raise :class:`UnreadableCheckpointError` (``prefix`` + the problem) unless
    :func:`checkpoint_problem` finds ``path`` readable."""
    problem = checkpoint_problem(path, deep=deep)
    if problem is not None:
        raise UnreadableCheckpointError(prefix + problem)


# ---------------------------------------------------------------------- resuming
def checkpoint_step(path: str) -> Optional[int]:
    """The step in a checkpoint's name (``iter_4.pth`` -> 4, ``epoch_3.pth`` -> 3,
    ``best_..._iter_4.pth`` -> 4), or None for a name without one."""
    match = _STEP_NAME.search(osp.basename(path))
    return int(match.group(1)) if match else None


def _checkpoints_newest_first(folders: List[str]) -> List[str]:
    """Files named like ``iter_4.pth`` / ``epoch_3.pth`` (``best_..._iter_4.pth``) in
    ``folders``: highest step first, then the regular one before a best one, then the
    most recently modified."""
    found = {}
    for folder in folders:
        if not osp.isdir(folder):
            continue
        for name in os.listdir(folder):
            step = checkpoint_step(name)
            path = osp.join(folder, name)
            if step is None or not osp.isfile(path):
                continue
            real = osp.realpath(path)
            if real not in found:
                found[real] = (step, not name.startswith('best_'),
                               osp.getmtime(path), path)
    return [key[-1] for key in sorted(found.values(), reverse=True)]


def find_resume_checkpoint(work_dir: str) -> Tuple[Optional[str], Optional[str]]:
    """The checkpoint ``--resume`` (without a path) should continue from, and a warning.

    Returns:
        ``(None, None)``: ``WORK_DIR/last_checkpoint`` is absent (mmengine then starts
        from scratch) or names a readable checkpoint (mmengine resumes from it).
        ``(path, warning)``: the checkpoint it names cannot be read (it is truncated,
        missing or no checkpoint at all); ``path`` is the newest readable checkpoint of
        the work dir and the warning names both files.

    Raises:
        UnreadableCheckpointError: the latest checkpoint cannot be read and no other
        checkpoint in the work dir can (the message names the latest one).
    """
    pointer = osp.join(work_dir, LAST_CHECKPOINT)
    if not osp.isfile(pointer):
        return None, None
    try:
        with open(pointer, encoding='utf-8') as f:
            latest = f.read().strip()
    except (OSError, UnicodeDecodeError) as e:
        latest, problem = '', f'cannot read {pointer} ({e})'
    else:
        problem = (checkpoint_problem(latest, deep=True) if latest
                   else f'{pointer} is empty')
    if problem is None:
        return None, None

    folders = [work_dir]
    if latest and osp.dirname(latest):
        folders.insert(0, osp.dirname(latest))  # the hook's out_dir may be elsewhere
    folders = list(dict.fromkeys(osp.normpath(f) for f in folders))
    exclude = osp.realpath(latest) if latest else None
    candidates = [c for c in _checkpoints_newest_first(folders)
                  if osp.realpath(c) != exclude]
    for candidate in candidates:
        if checkpoint_problem(candidate, deep=True) is None:
            return candidate, (f'--resume: {problem}; resuming from {candidate} instead, '
                               'the newest readable checkpoint in '
                               f'{osp.dirname(candidate) or "."}')
    where = ' or '.join(folders)
    if not candidates:
        others = f'no other checkpoint is in {where}'
    elif len(candidates) == 1:
        others = (f'the only other checkpoint in {where}, {candidates[0]}, cannot be '
                  'read either')
    else:
        others = f'none of the {len(candidates)} other checkpoints in {where} can be read'
    raise UnreadableCheckpointError(f'--resume: {problem}, and {others}')


def use_atomic_checkpoint_hook(cfg) -> None:
    """Replace mmengine's ``CheckpointHook`` in ``cfg.default_hooks.checkpoint`` with
    :class:`mmgat.hooks.AtomicCheckpointHook` (same arguments); other hooks stay."""
    hook = (cfg.get('default_hooks') or {}).get('checkpoint')
    if isinstance(hook, dict) and hook.get('type') in ('CheckpointHook',
                                                      'mmengine.CheckpointHook'):
        hook['type'] = 'mmgat.AtomicCheckpointHook'
