"""The safe checkpoint loader (mmgat.utils.compat): stock mmengine checkpoints load,
foreign pickled objects (getattr itself or getattr lookups of anything but
HistoryBuffer's statistics) are refused by name."""
import os
import shutil

import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

import mmgat  # noqa: F401  (installs the safe loader)
from mmgat.utils import UnsafeCheckpointError, safe_torch_load


def test_stock_mmengine_checkpoint_loads_with_its_history_buffers(tmp_path,
                                                                   message_hub_state):
    # Stock mmengine pickles HistoryBuffer.mean etc. as builtins.getattr(HistoryBuffer,
    # 'mean'): the loader resolves exactly those lookups.
    path = tmp_path / 'stock.pth'
    torch.save({'state_dict': {'w': torch.ones(2)}, 'message_hub': message_hub_state},
               path)
    assert 'builtins.getattr' in torch.serialization.get_unsafe_globals_in_checkpoint(
        str(path))
    loaded = safe_torch_load(str(path))
    buffer = loaded['message_hub']['log_scalars']['train/loss']
    assert type(buffer) is HistoryBuffer
    assert buffer.mean() == pytest.approx(1.0) and buffer.current() == 0.5
    assert buffer.statistics('max') == 1.5
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2))


class _GetattrCall:
    """Pickles as builtins.getattr(owner, name), as protocol 2 stores a method."""

    def __init__(self, owner, name):
        self.owner, self.name = owner, name

    def __reduce__(self):
        return getattr, (self.owner, self.name)


@pytest.mark.parametrize('owner, name', [
    (HistoryBuffer, 'update'),          # a HistoryBuffer method, but no statistic
    (HistoryBuffer, '__init__'),
    (HistoryBuffer, '_set_default_statistics'),
])
def test_getattr_calls_other_than_history_buffer_statistics_are_refused(
        tmp_path, owner, name):
    path = tmp_path / 'lookup.pth'
    torch.save({'state_dict': {}, 'payload': _GetattrCall(owner, name)}, path)
    with pytest.raises(UnsafeCheckpointError) as info:
        CheckpointLoader.load_checkpoint(str(path))
    assert 'builtins.getattr' in str(info.value) and 'lookup.pth' in str(info.value)


@pytest.mark.parametrize('payload, name', [
    (shutil.rmtree, 'shutil.rmtree'),
    (os.system, 'system'),
    (getattr, 'builtins.getattr'),
])
def test_foreign_objects_are_refused_by_name(tmp_path, payload, name):
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'payload': payload}, path)
    with pytest.raises(UnsafeCheckpointError) as info:
        CheckpointLoader.load_checkpoint(str(path))
    assert name in str(info.value)
    assert 'evil.pth' in str(info.value)
