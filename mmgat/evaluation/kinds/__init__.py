"""Entry kinds of a robustness suite, one file each, registered in
:data:`mmgat.registry.ENTRY_KINDS` (see :mod:`.base_kind` for the contract).

==============  ==========================================================================
kind            what is evaluated
==============  ==========================================================================
``clean``       the model on ``val`` (the config's ``test_dataloader``)
``split``       another split: ``split='val_ood'`` (the config's ``ood_test_dataloader``)
``attack``      ``val`` under an attack of ``mmgat.registry.ATTACKS``
``universal``   a universal perturbation computed with sPGD on ``train``, added to ``val``
``granularity`` one ``mmgat.LayerActivationAttack`` per decoder layer of the generator
``corruption``  ``mmgat.Corrupt`` for every corruption and severity, plus clean
``strength``    an attack entry again with 2x steps (+1 restart): has it converged?
==============  ==========================================================================
"""
from .base_kind import (TASKS, EntryKind, Unit, attack_kinds, check_generator, get_kind,
                        kind_names)
# Registration order is the order error messages list the kinds in.
from .clean import CleanKind
from .split import SplitKind
from .attack import AttackKind, attack_family, resolve_attack, short_type
from .universal import UniversalKind
from .granularity import GranularityKind, generator_layers
from .corruption import CorruptionKind, iter_corruption_units
from .strength import StrengthKind, check_strength, strength_entries, strength_gaps

__all__ = ['TASKS', 'EntryKind', 'Unit', 'kind_names', 'get_kind', 'attack_kinds',
           'check_generator', 'CleanKind', 'SplitKind', 'AttackKind', 'UniversalKind',
           'GranularityKind', 'CorruptionKind', 'attack_family', 'resolve_attack',
           'short_type', 'generator_layers', 'iter_corruption_units', 'StrengthKind',
           'check_strength', 'strength_entries', 'strength_gaps']
