"""Checkpoints are never torn, and unreadable ones are told apart from unsafe ones."""
import os
import zipfile
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import Runner

import mmgat  # noqa: F401  (registers the hooks and the atomic file backend)
from mmgat.utils import UnreadableCheckpointError, UnsafeCheckpointError, safe_torch_load
from mmgat.utils import atomic_write as atomic_write_module
from mmgat.utils.atomic_write import torch_save_atomic
from mmgat.utils.checkpoint_files import (AtomicLocalBackend, check_checkpoint_file,
                                          checkpoint_problem, find_resume_checkpoint)


def leftovers(folder):
    """Temporary files an interrupted write left behind."""
    return sorted(p.name for p in Path(folder).iterdir() if p.name.endswith('.tmp'))


def save(path, value=1.0):
    torch.save({'state_dict': {'w': torch.full((64, ), value)}, 'meta': {'iter': 1}},
               path)
    return path


def truncate(path):
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[:len(data) // 2])
    return path


# ------------------------------------------------------------------ telling files apart
def test_readable_checkpoint_has_no_problem(tmp_path):
    path = save(tmp_path / 'good.pth')
    assert checkpoint_problem(path) is None and checkpoint_problem(path, deep=True) is None
    legacy = tmp_path / 'legacy.pth'
    torch.save({'w': torch.ones(2)}, legacy, _use_new_zipfile_serialization=False)
    assert checkpoint_problem(legacy) is None
    assert torch.equal(safe_torch_load(str(legacy))['w'], torch.ones(2))


@pytest.mark.parametrize('content, words', [
    (b'model weights: see the README\n', 'not a PyTorch checkpoint'),
    (os.urandom(4096), 'not a PyTorch checkpoint'),
    (b'', 'the file is empty'),
])
def test_non_checkpoint_is_named_not_called_unsafe(tmp_path, content, words):
    path = tmp_path / 'weights.pth'
    path.write_bytes(content)
    assert words in checkpoint_problem(path)
    with pytest.raises(UnreadableCheckpointError) as info:
        safe_torch_load(str(path))
    assert f'not a PyTorch checkpoint: {path}' in str(info.value)
    assert 'allowlist' not in str(info.value)


def test_zip_without_data_pkl_is_not_a_checkpoint(tmp_path):
    path = tmp_path / 'images.pth'
    with zipfile.ZipFile(path, 'w') as archive:
        archive.writestr('a.txt', 'hello')
    with pytest.raises(UnreadableCheckpointError, match='not a PyTorch checkpoint'):
        safe_torch_load(str(path))


def test_truncated_checkpoint_is_named(tmp_path):
    path = truncate(save(tmp_path / 'iter_4.pth'))
    problem = checkpoint_problem(path)
    assert str(path) in problem and 'truncated' in problem
    with pytest.raises(UnreadableCheckpointError) as info:
        safe_torch_load(str(path))
    assert str(path) in str(info.value) and 'truncated' in str(info.value)


def test_deep_check_finds_flipped_bytes_torch_would_load(tmp_path):
    path = save(tmp_path / 'flipped.pth')
    data = bytearray(path.read_bytes())
    offset = data.index(torch.full((64, ), 1.0).numpy().tobytes())  # the tensor's bytes
    data[offset + 10] ^= 0xFF
    path.write_bytes(bytes(data))
    assert checkpoint_problem(path) is None  # the zip directory is intact
    assert 'CRC' in checkpoint_problem(path, deep=True)
    with pytest.raises(UnreadableCheckpointError, match='--resume: cannot read'):
        check_checkpoint_file(path, deep=True, prefix='--resume: ')


def test_objects_outside_the_allowlist_keep_the_allowlist_message(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'payload': os.system}, path)
    assert checkpoint_problem(path, deep=True) is None  # a well-formed checkpoint
    with pytest.raises(UnsafeCheckpointError, match='allowlist'):
        safe_torch_load(str(path))


# ------------------------------------------------------------------ atomic writes
def half_then_crash(obj, f, *args, **kwargs):
    """A torch.save that dies half way through writing (a crash, a full disk)."""
    f.write(b'PK\x03\x04' + b'\0' * 1000)
    raise OSError(28, 'No space left on device')


def test_crash_during_torch_save_leaves_old_file_or_none(tmp_path, monkeypatch):
    old = save(tmp_path / 'generator.pth', value=3.0)
    before = old.read_bytes()
    monkeypatch.setattr(torch, 'save', half_then_crash)
    with pytest.raises(OSError):
        torch_save_atomic({'w': torch.zeros(2)}, str(old))
    with pytest.raises(OSError):
        torch_save_atomic({'w': torch.zeros(2)}, str(tmp_path / 'new.pth'))
    assert old.read_bytes() == before
    assert not (tmp_path / 'new.pth').exists()
    assert leftovers(tmp_path) == []


def test_atomic_backend_crash_before_rename_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / 'iter_2.pth'
    path.write_bytes(b'old checkpoint')

    def no_space(fd):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(atomic_write_module.os, 'fsync', no_space)
    with pytest.raises(OSError):
        AtomicLocalBackend().put(b'new checkpoint, half written', str(path))
    assert path.read_bytes() == b'old checkpoint'
    assert leftovers(tmp_path) == []
    monkeypatch.undo()
    AtomicLocalBackend().put_text('new', str(path))
    assert path.read_text() == 'new' and leftovers(tmp_path) == []


# ------------------------------------------------------------------ the checkpoint hook
class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(torch.stack(inputs) if isinstance(inputs, list) else inputs)
        return dict(loss=out.pow(2).mean()) if mode == 'loss' else out


class ToyDataset(torch.utils.data.Dataset):
    metainfo = dict(classes=('a', ))

    def __len__(self):
        return 8

    def __getitem__(self, idx):
        return dict(inputs=torch.full((2, ), float(idx)), data_samples=idx)


_RUNS = iter(range(1000))


def toy_runner(work_dir, max_iters, max_keep_ckpts=1, resume=False):
    # A fresh experiment name: mmengine shares the message hub of runners of one name.
    return Runner(
        model=ToyModel(), work_dir=str(work_dir), experiment_name=f'toy{next(_RUNS)}',
        train_dataloader=dict(dataset=ToyDataset(), batch_size=2, num_workers=0,
                              sampler=dict(type='InfiniteSampler', shuffle=False),
                              collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(type='mmgat.AtomicCheckpointHook', by_epoch=False, interval=1,
                            max_keep_ckpts=max_keep_ckpts),
            safe_checkpoint=dict(type='mmgat.SafeCheckpointHook')),
        resume=resume, default_scope='mmengine', log_level='WARNING')


def test_hook_keeps_the_only_checkpoint_when_a_save_crashes(tmp_path, monkeypatch):
    toy_runner(tmp_path, max_iters=2).train()
    assert sorted(p.name for p in tmp_path.glob('*.pth')) == ['iter_2.pth']
    pointer = tmp_path / 'last_checkpoint'
    assert pointer.read_text() == str(tmp_path / 'iter_2.pth')

    # The next save dies half way: with max_keep_ckpts=1 mmengine's own hook would have
    # deleted iter_2.pth before it, leaving no checkpoint at all.
    real_save = torch.save
    monkeypatch.setattr(torch, 'save', half_then_crash)
    with pytest.raises(OSError):
        toy_runner(tmp_path, max_iters=3, resume=True).train()
    monkeypatch.setattr(torch, 'save', real_save)
    assert sorted(p.name for p in tmp_path.glob('*.pth')) == ['iter_2.pth']
    assert checkpoint_problem(tmp_path / 'iter_2.pth', deep=True) is None
    assert pointer.read_text() == str(tmp_path / 'iter_2.pth')
    assert leftovers(tmp_path) == []

    # A successful save replaces it; the outdated one goes only afterwards.
    toy_runner(tmp_path, max_iters=3, resume=True).train()
    assert sorted(p.name for p in tmp_path.glob('*.pth')) == ['iter_3.pth']
    assert pointer.read_text() == str(tmp_path / 'iter_3.pth')
    assert safe_torch_load(str(tmp_path / 'iter_3.pth'))['meta']['iter'] == 3


# ------------------------------------------------------------------ choosing what to resume
def test_resume_uses_last_checkpoint_when_readable(tmp_path):
    assert find_resume_checkpoint(str(tmp_path)) == (None, None)  # nothing: start afresh
    save(tmp_path / 'iter_2.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_2.pth'))
    assert find_resume_checkpoint(str(tmp_path)) == (None, None)  # mmengine's own way


@pytest.mark.parametrize('damage', ['truncate', 'delete', 'empty_pointer'])
def test_resume_falls_back_to_newest_readable(tmp_path, damage):
    for step in (2, 4, 6):
        save(tmp_path / f'iter_{step}.pth', value=step)
    (tmp_path / 'generator.pth').write_bytes(b'not a training checkpoint')
    latest = tmp_path / 'iter_8.pth'
    save(latest)
    truncate(tmp_path / 'iter_6.pth')
    pointer = tmp_path / 'last_checkpoint'
    pointer.write_text(str(latest))
    if damage == 'truncate':
        truncate(latest)
    elif damage == 'delete':
        latest.unlink()
    else:
        pointer.write_text('')
    path, warning = find_resume_checkpoint(str(tmp_path))
    if damage == 'empty_pointer':  # nothing names iter_8, which is intact
        assert path == str(latest)
    else:
        assert path == str(tmp_path / 'iter_4.pth')  # iter_6 is truncated too
    assert path in warning
    assert (str(pointer) if damage == 'empty_pointer' else str(latest)) in warning


def test_resume_without_a_readable_checkpoint_names_the_latest(tmp_path):
    for step in (2, 4):
        truncate(save(tmp_path / f'iter_{step}.pth'))
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_4.pth'))
    with pytest.raises(UnreadableCheckpointError) as info:
        find_resume_checkpoint(str(tmp_path))
    message = str(info.value)
    assert str(tmp_path / 'iter_4.pth') in message and 'truncated' in message
    assert '\n' not in message
