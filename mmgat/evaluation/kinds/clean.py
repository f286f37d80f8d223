"""``kind='clean'``: the model on ``val`` (the config's ``test_dataloader``).

Example:
    >>> dict(name='clean', kind='clean')            # all of val
"""
from mmgat.registry import ENTRY_KINDS
from .base_kind import EntryKind, Unit, fail


@ENTRY_KINDS.register_module(name='clean')
class CleanKind(EntryKind):
    """The unattacked model on ``val``; one unit."""

    def check_split(self, entry: dict, split: str, where: str) -> None:
        if split != 'val':
            fail(where, "kind 'clean' evaluates 'val'; use kind 'split' for another "
                 'split')

    def units(self, entry: dict, rec: dict, ctx) -> list:
        return [Unit(None, ctx.base_spec(entry),
                     lambda desc, info, digest: ctx.evaluate(entry, desc))]
