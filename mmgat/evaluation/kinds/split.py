"""``kind='split'``: the model on another split, e.g. ``split='val_ood'`` (the config's
``ood_test_dataloader``).

Example:
    >>> dict(name='val_ood', kind='split', split='val_ood')
"""
from mmgat.registry import ENTRY_KINDS
from .base_kind import fail
from .clean import CleanKind


@ENTRY_KINDS.register_module(name='split')
class SplitKind(CleanKind):
    """The unattacked model on the entry's ``split``; one unit."""

    def check_split(self, entry: dict, split: str, where: str) -> None:
        if 'split' not in entry:
            fail(where, "kind 'split' needs split='val_ood' (or 'val')")

