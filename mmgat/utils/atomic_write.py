"""Files that are either complete or absent: write to a temporary file, then rename.

Every file mmgat writes that a crash must not leave half-written (results JSON,
reports, universal perturbations, generators, checkpoints) goes through
:func:`atomic_write`: a temporary file in the destination's folder (so the rename
stays on one file system), flushed and fsync'ed, then ``os.replace``. A reader or an
interrupted run sees the old file or the new one, never a torn one.
"""
import json
import os
import os.path as osp
import tempfile
from contextlib import contextmanager
from typing import IO, Any, Callable, Iterator


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextmanager
def atomic_write(path: str, mode: str = 'w') -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success it replaces ``path``.

    On any exception (KeyboardInterrupt included) the temporary file is removed and
    ``path`` is left as it was.

    Example:
        >>> with atomic_write('results.json') as f:
        ...     json.dump(data, f)
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=osp.basename(path) + '.', suffix='.tmp',
                               dir=folder)
    try:
        os.chmod(tmp, _umask_mode())  # mkstemp makes it private
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def write_text_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_write(path) as f:
        f.write(text)


def write_json_atomic(path: str, data: Any,
                      to_json: Callable[[Any], Any] = lambda obj: obj) -> None:
    """Write ``to_json(data)`` as indented JSON (one trailing newline) atomically."""
    with atomic_write(path) as f:
        json.dump(to_json(data), f, indent=2)
        f.write('\n')


def torch_save_atomic(obj: Any, path: str) -> None:
    """``torch.save(obj, path)`` atomically (a crash leaves no torn checkpoint)."""
    import torch
    with atomic_write(path, 'wb') as f:
        torch.save(obj, f)
