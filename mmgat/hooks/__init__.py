from .adversarial_hook import AdversarialHook  # noqa: F401
from .safe_checkpoint_hook import SafeCheckpointHook, to_plain_python

__all__ = ['SafeCheckpointHook', 'to_plain_python']
