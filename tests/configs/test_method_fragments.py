"""Method configs are a clean config plus one hook fragment of configs/_base_/adversarial/,
and mmgat.SafeCheckpointHook is a default hook, registered exactly once."""
import ast

import pytest
from mmengine.config import Config

from conftest import REPO
from mmgat.utils.runner_setup import ensure_safe_checkpoint_hook, load_config

METHODS = ('pgd', 'shared', 'universal', 'localized', 'gat', 'advbn')
TASKS = {  # model prefix -> (clean config, file name suffix, GAT fragment)
    'faster-rcnn_r18': ('faster-rcnn_r18_clean_digitscenes.py', 'digitscenes', 'gat_scenes'),
    'fpn_r18': ('fpn_r18_clean_digitscenes.py', 'digitscenes', 'gat_scenes'),
    'resnet18': ('resnet18_clean_digitscenes-cls.py', 'digitscenes-cls', 'gat_digits'),
}
METHOD_CONFIGS = {  # method config -> (clean config, fragment)
    f'configs/{method}/{model}_{method}_{suffix}.py':
    (f'configs/clean/{clean}',
     f'configs/_base_/adversarial/{gat if method == "gat" else method}.py')
    for method in METHODS for model, (clean, suffix, gat) in TASKS.items()
}
CLEAN_CONFIGS = sorted({clean for clean, _ in METHOD_CONFIGS.values()})
SAFE = 'mmgat.SafeCheckpointHook'


def own_bases(path):
    """The `_base_` list written in the file itself (not what it inherits)."""
    tree = ast.parse((REPO / path).read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], 'id', '') == '_base_':
            return ast.literal_eval(node.value)
    return None


def resolve(path, relative_to):
    return str((REPO / relative_to).parent.joinpath(path).resolve().relative_to(REPO))


def hook_types(hooks):
    return [h['type'] for h in hooks or []]


# Variants <method>-<name> (the controls of the evidence matrix): their method's
# config with one change, inheriting it directly.
VARIANTS = {
    'configs/pgd/resnet18_pgd-eps8_digitscenes-cls.py':
    'configs/pgd/resnet18_pgd_digitscenes-cls.py',
    'configs/shared/resnet18_shared-heap1_digitscenes-cls.py':
    'configs/shared/resnet18_shared_digitscenes-cls.py',
    'configs/pgd/faster-rcnn_r18_pgd-eps8_digitscenes.py':
    'configs/pgd/faster-rcnn_r18_pgd_digitscenes.py',
    'configs/pgd/fpn_r18_pgd-eps8_digitscenes.py': 'configs/pgd/fpn_r18_pgd_digitscenes.py',
    'configs/shared/fpn_r18_shared-heap1_digitscenes.py':
    'configs/shared/fpn_r18_shared_digitscenes.py',
    'configs/advbn/faster-rcnn_r18_advbn-tau025_digitscenes.py':
    'configs/advbn/faster-rcnn_r18_advbn_digitscenes.py',
    **{f'configs/gat/faster-rcnn_r18_{v}_digitscenes.py':
       'configs/gat/faster-rcnn_r18_gat_digitscenes.py'
       for v in ('gat-append', 'gat-eps025', 'gat-cycle', 'gat-steps5')},
}
#: What each variant changes in its method's hook: claim (a)'s GAT tries on the detector,
#: the controls of claims (b) (heaps of one) and (e) (localized's budget), and AdvBN at
#: a strength a detector can learn from (claim (c)).
PGD_EPS8 = {'attack.eps': 8 / 255, 'attack.alpha': 2.5 / 255}
VARIANT_CHANGES = {
    **{f'configs/gat/faster-rcnn_r18_{name}_digitscenes.py': change for name, change in {
        'gat-append': dict(mode='append', ratio=1.0),
        'gat-eps025': {'attack.eps': dict(coarse=0.25, mid=0.25, fine=0.25)},
        'gat-cycle': {'attack.level_sampling': 'cycle'},
        'gat-steps5': {'attack.steps': 5},
    }.items()},
    'configs/pgd/resnet18_pgd-eps8_digitscenes-cls.py': PGD_EPS8,
    'configs/pgd/faster-rcnn_r18_pgd-eps8_digitscenes.py': PGD_EPS8,
    'configs/pgd/fpn_r18_pgd-eps8_digitscenes.py': PGD_EPS8,
    'configs/shared/resnet18_shared-heap1_digitscenes-cls.py': {'attack.heap_size': 1},
    'configs/shared/fpn_r18_shared-heap1_digitscenes.py': {'attack.heap_size': 1},
    'configs/advbn/faster-rcnn_r18_advbn-tau025_digitscenes.py': {'attack.tau': 0.25},
}


def flat_hook(hook: dict) -> dict:
    flat = {k: v for k, v in hook.items() if k != 'attack'}
    flat.update({f'attack.{k}': v for k, v in hook['attack'].items()})
    return flat


def test_every_variant_has_its_change_listed():
    assert set(VARIANT_CHANGES) == set(VARIANTS)


@pytest.mark.parametrize('variant', sorted(VARIANT_CHANGES))
def test_variant_changes_only_its_setting(variant):
    base = Config.fromfile(str(REPO / VARIANTS[variant]))
    cfg = Config.fromfile(str(REPO / variant))
    before = flat_hook(base.custom_hooks[0].to_dict())
    after = flat_hook(cfg.custom_hooks[0].to_dict())
    assert before.keys() == after.keys()
    assert {k: v for k, v in after.items() if before[k] != v} == VARIANT_CHANGES[variant]
    rest = [{k: v for k, v in c._cfg_dict.to_dict().items() if k != 'custom_hooks'}
            for c in (base, cfg)]
    assert rest[0] == rest[1] and len(cfg.custom_hooks) == len(base.custom_hooks) == 1


def test_every_method_config_exists_and_every_fragment_is_used():
    found = {str(p.relative_to(REPO)) for m in METHODS
             for p in (REPO / 'configs' / m).glob('*digitscenes*.py')}
    variants = {p for p in found if '-' in p.rsplit('/', 1)[1].split('_')[-2]}
    on_disk = found - variants
    assert on_disk == set(METHOD_CONFIGS) and len(on_disk) == 18
    assert variants == set(VARIANTS)
    for variant, base in VARIANTS.items():
        assert [resolve(b, variant) for b in own_bases(variant)] == [base]
    fragments = {str(p.relative_to(REPO))
                 for p in (REPO / 'configs/_base_/adversarial').glob('*.py')}
    used = {fragment for _, fragment in METHOD_CONFIGS.values()}
    # gat.py is the common part of gat_scenes.py and gat_digits.py
    assert fragments == used | {'configs/_base_/adversarial/gat.py'}
    for gat in ('gat_scenes', 'gat_digits'):
        path = f'configs/_base_/adversarial/{gat}.py'
        assert resolve(own_bases(path)[0], path) == 'configs/_base_/adversarial/gat.py'


@pytest.mark.parametrize('config', sorted(METHOD_CONFIGS))
def test_method_config_is_clean_config_plus_fragment(config):
    clean, fragment = METHOD_CONFIGS[config]
    bases = own_bases(config)
    assert [resolve(b, config) for b in bases] == [clean, fragment]

    cfg = Config.fromfile(str(REPO / config))
    assert hook_types(cfg.custom_hooks) == ['mmgat.AdversarialHook']
    assert cfg.default_hooks.safe_checkpoint == dict(type=SAFE)
    assert isinstance(cfg.custom_hooks[0].attack, dict)

    # Nothing but the hook (and GAT's generator) comes with the fragment: every other
    # key is the clean config's, unchanged.
    clean_dict = Config.fromfile(str(REPO / clean))._cfg_dict.to_dict()
    method_dict = cfg._cfg_dict.to_dict()
    extra = {'custom_hooks'} | ({'generator'} if '/gat/' in config else set())
    assert set(method_dict) == set(clean_dict) | extra
    assert {k: v for k, v in method_dict.items() if k not in extra} == clean_dict
    if '/gat/' in config:
        assert cfg.custom_hooks[0].attack.generator == cfg.generator


@pytest.mark.parametrize('config', CLEAN_CONFIGS + [
    'configs/generators/style-ae_digitscenes.py',
    'configs/generators/style-ae_digitscenes-cls.py'])
def test_clean_configs_have_the_safe_checkpoint_hook_as_a_default_hook(config):
    cfg = Config.fromfile(str(REPO / config))
    assert 'custom_hooks' not in cfg
    assert cfg.default_hooks.safe_checkpoint == dict(type=SAFE)


def test_shared_classifier_overrides_the_fragment_hook():
    base = Config.fromfile(str(REPO / 'configs/_base_/adversarial/shared.py'))
    cls = Config.fromfile(str(REPO / 'configs/shared/resnet18_shared_digitscenes-cls.py'))
    det = Config.fromfile(str(REPO / 'configs/shared/faster-rcnn_r18_shared_digitscenes.py'))
    assert det.custom_hooks == base.custom_hooks
    attack = cls.custom_hooks[0].attack
    assert (attack.heap_size, attack.steps, attack.label_smoothing) == (8, 4, 0.1)
    assert attack.kappa == pytest.approx(1.6094379124341003)
    for key in ('type', 'eps', 'alpha', 'norm', 'random_start'):
        assert attack[key] == base.custom_hooks[0].attack[key]
    assert {k: v for k, v in cls.custom_hooks[0].items() if k != 'attack'} == {
        k: v for k, v in base.custom_hooks[0].items() if k != 'attack'}
    # Reading the hook from `_base_` left the fragment's own dict as it was.
    assert 'kappa' not in base.custom_hooks[0].attack


def test_cfg_options_reach_the_hook_through_index_0():
    config = str(REPO / 'configs/gat/resnet18_gat_digitscenes-cls.py')
    cfg = load_config(config, {'custom_hooks.0.attack.generator.checkpoint': 'x.pth',
                               'custom_hooks.0.ratio': 0.25})
    assert cfg.custom_hooks[0].attack.generator.checkpoint == 'x.pth'
    assert cfg.custom_hooks[0].ratio == 0.25
    # The top-level `generator` is a copy made when the config is read: overriding it
    # does not reach the hook (README, GAT).
    cfg = load_config(config, {'generator.checkpoint': 'y.pth'})
    assert cfg.custom_hooks[0].attack.generator.checkpoint.endswith('/generator.pth')


def _safe_hooks(cfg):
    """Where the config has a SafeCheckpointHook: 'default' / 'custom', once per copy."""
    names = (SAFE, 'SafeCheckpointHook')
    return (['default' for h in (cfg.get('default_hooks') or {}).values()
             if isinstance(h, dict) and h.get('type') in names] +
            ['custom' for h in cfg.get('custom_hooks') or [] if h.get('type') in names])


ADV = dict(type='mmgat.AdversarialHook')


@pytest.mark.parametrize('hooks, where', [
    (dict(default_hooks=dict(safe_checkpoint=dict(type=SAFE))), ['default']),
    (dict(custom_hooks=[dict(type=SAFE), ADV]), ['custom']),
    (dict(custom_hooks=[dict(type='SafeCheckpointHook')]), ['custom']),
    (dict(), ['default']),
    (dict(custom_hooks=[ADV]), ['default']),
    (dict(default_hooks=dict(timer=dict(type='IterTimerHook'))), ['default']),
    (dict(default_hooks=dict(safe_checkpoint=None)), ['default']),
    (dict(default_hooks=dict(safe_checkpoint=dict(type=SAFE)),
          custom_hooks=[dict(type=SAFE), ADV]), ['default']),
])
def test_ensure_safe_checkpoint_hook_registers_it_once(hooks, where):
    cfg = Config(hooks)
    others = [h for h in hooks.get('custom_hooks', []) if h is ADV]
    for _ in range(2):  # a second call changes nothing
        ensure_safe_checkpoint_hook(cfg)
        assert _safe_hooks(cfg) == where
        assert [h for h in cfg.get('custom_hooks') or [] if h == ADV] == others
    if 'timer' in hooks.get('default_hooks', {}):
        assert cfg.default_hooks.timer == dict(type='IterTimerHook')
