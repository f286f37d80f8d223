from .adversarial_hook import PHASES, AdversarialHook, parse_phase
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .safe_checkpoint_hook import SafeCheckpointHook, to_plain_python

__all__ = ['AdversarialHook', 'AtomicCheckpointHook', 'PHASES', 'parse_phase',
           'SafeCheckpointHook', 'to_plain_python']
