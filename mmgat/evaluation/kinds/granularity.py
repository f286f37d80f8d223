"""``kind='granularity'``: one :class:`mmgat.attacks.LayerActivationAttack` per decoder
layer of the generator (coarse -> fine), i.e. the model's granularity profile.

``layers`` picks some layers (default all); ``attack`` holds the attack's other options;
the generator is the entry's ``generator`` or the suite's.

Example:
    >>> dict(name='granularity', kind='granularity', attack=dict(radius=0.5, steps=5),
    ...      num_images=12)
"""
import copy
from functools import partial
from typing import List, Optional

from mmgat.registry import ENTRY_KINDS
from mmgat.utils.errors import ConfigError
from .attack import evaluate_under_attack
from .base_kind import EntryKind, Unit, check_generator, entry_dict, fail

LAYER_ATTACK = 'mmgat.LayerActivationAttack'


def generator_layers(generator: dict) -> List[str]:
    """The decoder layers (coarse -> fine) of a trained generator.

    Raises:
        ConfigError: the checkpoint is missing (from ``load_generator``).
    """
    from mmgat.generators import load_generator
    gen = load_generator(generator['config'], generator['checkpoint'])
    return list(gen.decoder_layers)


@ENTRY_KINDS.register_module(name='granularity')
class GranularityKind(EntryKind):
    """One unit per decoder layer (unit key: the layer name)."""

    keys = ('attack', 'generator', 'layers', 'victim')
    is_attack = True

    def check(self, entry: dict, out: dict, where: str, suite_dir) -> None:
        attack = entry_dict(where, 'attack', entry.get('attack')) or {}
        attack.setdefault('type', LAYER_ATTACK)
        for key in ('layer', 'generator'):
            if key in attack:
                fail(where, f'attack.{key} is set per layer by the suite; use the '
                     f'entry\'s {"layers" if key == "layer" else key}')
        out['attack'] = attack
        out['generator'] = check_generator(where, entry.get('generator'))
        layers = entry.get('layers')
        if layers is not None and (not isinstance(layers, list) or not layers or not all(
                isinstance(v, str) for v in layers)):
            fail(where, f'layers must be None (all) or a list of layer names, got '
                 f'{layers!r}')
        out['layers'] = layers
        out['victim'] = entry_dict(where, 'victim', entry.get('victim'))

    def family(self, entry: dict, generator: Optional[dict]):
        return ('granularity', ), None

    def units(self, entry: dict, rec: dict, ctx) -> list:
        generator = entry.get('generator') or ctx.generator
        if generator is None:
            raise ConfigError('granularity needs a generator: set generator=dict('
                              'config=..., checkpoint=...) in the entry or the suite')
        rec['generator'] = generator
        layers = generator_layers(generator)
        if entry.get('layers'):
            unknown = [layer for layer in entry['layers'] if layer not in layers]
            if unknown:
                raise ConfigError(f'layers {unknown} are not decoder layers of the '
                                  f'generator; it has {layers}')
            layers = [layer for layer in layers if layer in entry['layers']]
        rec['layers'] = layers
        victim = ctx.victim_options(entry, entry.get('victim'))
        base = ctx.base_spec(entry)
        units = []
        for layer in layers:
            attack = dict(entry['attack'], generator=copy.deepcopy(generator),
                          layer=layer)
            units.append(Unit(layer, dict(base, attack=attack, victim=victim),
                              partial(evaluate_under_attack, ctx, entry, attack,
                                      victim)))
        return units


__all__ = ['GranularityKind', 'generator_layers', 'LAYER_ATTACK']
