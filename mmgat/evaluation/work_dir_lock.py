"""One suite at a time per work dir: a lock file naming the job that writes it.

Two runs writing the same ``robustness.json`` would each overwrite the other's units
(silently wrong results). :class:`WorkDirLock` creates ``DIR/<name>.lock`` exclusively
with the host, pid and start time of the run; a second run stops with one line naming
that job. A lock left by a job that died on this host (its pid is gone) is taken over
with a warning; one from another host cannot be checked, so the message says which file
to delete once that job is known to be gone.
"""
import json
import os
import os.path as osp
import socket
import time
import warnings
from typing import Optional

from mmgat.utils.errors import ConfigError


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class WorkDirLock:
    """Context manager: hold ``work_dir/<name>.lock`` for the duration of a run.

    Raises:
        ConfigError: another live job (or a job on another host) holds the lock.
    """

    def __init__(self, work_dir: str, name: str = 'robustness') -> None:
        self.path = osp.join(work_dir, f'{name}.lock')
        self.held = False

    def owner(self) -> Optional[dict]:
        try:
            with open(self.path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def __enter__(self) -> 'WorkDirLock':
        os.makedirs(osp.dirname(self.path) or '.', exist_ok=True)
        me = dict(host=socket.gethostname(), pid=os.getpid(),
                  since=time.strftime('%Y-%m-%d %H:%M:%S'))
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                self._refuse_or_clear(me['host'])
                continue
            with os.fdopen(fd, 'w') as f:
                json.dump(me, f)
            self.held = True
            return self
        raise ConfigError(f'could not take the lock {self.path}')

    def _refuse_or_clear(self, host: str) -> None:
        owner = self.owner() or {}
        pid = owner.get('pid')
        if owner.get('host') == host and isinstance(pid, int) and not _alive(pid):
            warnings.warn(f'{self.path}: the run that held it (pid {pid}, since '
                          f"{owner.get('since')}) is gone; taking it over", RuntimeWarning)
            os.remove(self.path)
            return
        raise ConfigError(
            f"{osp.dirname(self.path)} is being written by another run: pid {pid} on "
            f"host {owner.get('host', '?')} since {owner.get('since', '?')} "
            f'({self.path}); wait for it, use another --work-dir, or delete the lock '
            'file if that run is gone')

    def __exit__(self, *exc) -> None:
        if self.held:
            try:
                os.remove(self.path)
            except OSError:
                pass
            self.held = False


__all__ = ['WorkDirLock']
