"""SafeCheckpointHook: what it writes loads with weights_only=True and the allowlist."""
from collections import OrderedDict

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner.checkpoint import CheckpointLoader

import mmgat  # noqa: F401
from mmgat.hooks import SafeCheckpointHook, to_plain_python
from mmgat.utils import safe_torch_load
from mmgat.utils.safe_history_buffer import SafeHistoryBuffer


def test_sanitized_checkpoint_round_trips(tmp_path, message_hub_state):
    checkpoint = {'meta': {'iter': np.int64(3), 'best': np.float64(0.5)},
                  'state_dict': OrderedDict(w=torch.arange(3.0)),
                  'message_hub': message_hub_state}
    SafeCheckpointHook().before_save_checkpoint(None, checkpoint)
    path = tmp_path / 'safe.pth'
    torch.save(checkpoint, path)

    loaded = safe_torch_load(str(path))
    assert loaded['meta'] == {'iter': 3, 'best': 0.5}
    assert type(loaded['meta']['iter']) is int
    assert torch.equal(loaded['state_dict']['w'], torch.arange(3.0))
    buffer = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, SafeHistoryBuffer)
    assert buffer.mean() == pytest.approx(1.0) and buffer.current() == 0.5
    assert loaded['message_hub']['runtime_info']['metric'] == 0.25

    # The runner's own loader (used by --resume and tools/test.py) goes the same way.
    assert CheckpointLoader.load_checkpoint(str(path))['meta']['iter'] == 3

    # A restored hub keeps working and saves safely again.
    hub = MessageHub.get_instance('test_safe_checkpoint_restored')
    hub.load_state_dict(loaded['message_hub'])
    hub.update_scalar('train/loss', 2.0)
    assert hub.get_scalar('train/loss').current() == 2.0


def test_to_plain_python_leaves_live_objects_alone():
    buffer = HistoryBuffer()
    buffer.update(1.0)
    state = {'a': [np.float32(1.5), (np.int64(2), 'x')], 'b': buffer}
    plain = to_plain_python(state)
    assert plain['a'] == [1.5, (2, 'x')]
    assert type(plain['a'][0]) is float and type(plain['a'][1][0]) is int
    assert isinstance(plain['b'], SafeHistoryBuffer) and plain['b'] is not buffer
    assert type(state['b']) is HistoryBuffer  # the runner's buffer is not replaced
