"""A HistoryBuffer that pickles its data only."""
from mmengine.logging import HistoryBuffer


class SafeHistoryBuffer(HistoryBuffer):
    """:class:`HistoryBuffer` whose pickle holds only the logged arrays.

    mmengine's buffer also pickles its statistics methods (``min``, ``mean``, ...) as
    ``getattr(HistoryBuffer, name)``; loading that needs ``builtins.getattr`` in torch's
    ``weights_only`` allowlist, which would let a checkpoint call any attribute. The
    methods are class-level defaults that :meth:`__setstate__` restores anyway.
    """

    @classmethod
    def from_buffer(cls, buffer: HistoryBuffer) -> 'SafeHistoryBuffer':
        safe = cls(max_length=buffer.max_length)
        safe._log_history = buffer._log_history.copy()
        safe._count_history = buffer._count_history.copy()
        return safe

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop('statistics_methods', None)
        state.pop('_statistics_methods', None)
        return state
