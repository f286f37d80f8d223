"""The safe checkpoint loader (mmgat.utils.compat): stock mmengine checkpoints and
foreign pickled objects are refused by name."""
import os
import shutil

import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader

import mmgat  # noqa: F401  (installs the safe loader)
from mmgat.utils import UnsafeCheckpointError, safe_torch_load


def test_stock_mmengine_checkpoint_is_refused_naming_getattr(tmp_path, message_hub_state):
    path = tmp_path / 'stock.pth'
    torch.save({'state_dict': {'w': torch.ones(2)}, 'message_hub': message_hub_state},
               path)
    with pytest.raises(UnsafeCheckpointError) as info:
        safe_torch_load(str(path))
    assert 'builtins.getattr' in str(info.value)


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
