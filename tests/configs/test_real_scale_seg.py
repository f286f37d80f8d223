"""The real-scale segmentation configs (DeepLabV3+ R-50-D8 on Cityscapes and ADE20K, one per
method), their GAT generators and robustness suites.

Fast: every config builds (model, datasets and pipelines on a DigitScenes stand-in in the
dataset's layout, hooks, evaluator), the clean configs are mmseg's configs with only the
data settings and mmgat's hooks changed, a localized config without background classes
and a config whose dataset is absent stop with the field / dataset named.

Slow: every config trains 2 iterations through tools/train.py (mmseg's model at full
width: SyncBN becomes BN in one process) and is tested through tools/test.py, on the
stand-in at the smallest scale that keeps every stage of the dilated R-50 non-empty
(Cityscapes 32x64 images, 16x32 crops; ADE20K 32x32); each dataset's suite runs at
``--num-images 2`` on its clean model, with a generator trained 2 iterations. The tools run
in this process on one torch thread: on a shared 2-core machine, OpenMP threads cost more
than they bring to convolutions this small (conftest.one_thread), and a process per run
would pay the imports each time.
"""
import ast
import importlib.util
import json
import math
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from conftest import REPO, read_scalars
from suite_cuts import one_step_entry_options
from mmgat.utils import safe_torch_load
from mmgat.utils.errors import ConfigError

METHODS = ('clean', 'pgd', 'shared', 'universal', 'localized', 'gat', 'advbn')
DATASETS = {
    # name: (config stem, upstream config, stand-in size, MMGAT_IMG_SCALE, train crop)
    'cityscapes': ('4xb2-80k_cityscapes-512x1024',
                   'mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb2-80k_cityscapes-512x1024.py',
                   64, '64,32', (16, 32)),
    'ade20k': ('4xb4-80k_ade20k-512x512',
               'mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb4-80k_ade20k-512x512.py',
               64, '32,32', (32, 32)),
}
CONFIGS = {(method, name): f'configs/{method}/deeplabv3plus_r50-d8_{method}_{stem}.py'
           for name, (stem, *_) in DATASETS.items() for method in METHODS}
BACKGROUND = {
    'cityscapes': ['road', 'sidewalk', 'building', 'wall', 'fence', 'vegetation', 'terrain',
                   'sky'],
    'ade20k': ['wall', 'building', 'sky', 'floor', 'ceiling', 'road', 'grass', 'sidewalk',
               'earth', 'mountain', 'water', 'sea', 'field', 'sand', 'path', 'river', 'hill',
               'dirt track', 'land', 'lake'],
}
# No worker processes (persistent workers need some), a log line per iteration, no
# download of the ImageNet backbone (open-mmlab://resnet50_v1c), no optimizer state in
# the 170 MB checkpoints.
FAST = [f'{loader}_dataloader.{option}' for loader in ('train', 'val', 'test')
        for option in ('num_workers=0', 'persistent_workers=False')] + [
            'default_hooks.logger.interval=1', 'model.pretrained=None']
TRAIN = ['train_cfg.max_iters=2', 'train_cfg.val_interval=2',
         'default_hooks.checkpoint.interval=2', 'default_hooks.checkpoint.save_optimizer=False']

pytestmark = pytest.mark.usefixtures('one_thread')


def load_tool(name):
    spec = importlib.util.spec_from_file_location(f'{name}_seg_tool',
                                                  REPO / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def dataset_env(name, root):
    """MMGAT_DATA_ROOT / MMGAT_IMG_SCALE for ``name``'s stand-in while configs are read."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv('MMGAT_DATA_ROOT', str(root))
        mp.setenv('MMGAT_IMG_SCALE', DATASETS[name][3])
        yield


def read(config, name, root):
    with dataset_env(name, root):
        return Config.fromfile(str(REPO / config))


def upstream_file(name):
    """The file of an ``mmseg::`` config (shipped inside the package)."""
    import mmseg
    return str(Path(mmseg.__file__).parent / '.mim' / 'configs' / name.split('::')[1])


def unscoped(cfg):
    """The config as plain data without the ``_scope_`` keys mmengine adds to what is
    inherited through ``mmseg::``."""
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != '_scope_'}
        if isinstance(value, (list, tuple)):
            return type(value)(strip(v) for v in value)
        return value
    return strip(cfg._cfg_dict.to_dict())


def own_bases(path):
    tree = ast.parse((REPO / path).read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], 'id', '') == '_base_':
            return ast.literal_eval(node.value)
    return None


@pytest.fixture(scope='module')
def layouts(tmp_path_factory):
    """One DigitScenes stand-in per dataset (4 train, 2 val scenes, no val_ood)."""
    from mmgat.datasets.layouts import write_layout
    out = tmp_path_factory.mktemp('seg_layouts')
    return {name: Path(write_layout(name, str(out / name), size=size, num_train=4,
                                    num_val=2, num_val_ood=0))
            for name, (_, _, size, _, _) in DATASETS.items()}


@pytest.fixture(scope='module')
def models(layouts):
    """The (SyncBN-reverted) model of each clean config: every method config of a
    dataset has the same one (checked by test_method_config_is_clean_config_plus_hook)."""
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    out = {}
    for name in DATASETS:
        cfg = read(CONFIGS['clean', name], name, layouts[name])
        cfg.model.pretrained = None
        out[name] = revert_sync_batchnorm(MODELS.build(cfg.model))
    return out


# ---------------------------------------------------------------- fast: configs build
def test_every_real_scale_seg_config_exists():
    for name, (stem, *_) in DATASETS.items():
        found = {p.parent.name
                 for p in (REPO / 'configs').glob(f'*/deeplabv3plus_r50-d8_*_{stem}.py')}
        assert found == set(METHODS), name
    for name in DATASETS:
        for path in (f'configs/_base_/datasets/real/{name}.py',
                     f'configs/generators/style-ae_{name}.py',
                     f'configs/_base_/generators/style-ae_{name}.py',
                     f'configs/robustness/unseen_{name}.py'):
            assert (REPO / path).is_file(), path


@pytest.mark.parametrize('name', sorted(DATASETS))
def test_clean_config_is_mmseg_config_with_mmgat_data_and_hooks(name):
    """Without MMGAT_* variables the clean config is mmseg's, key by key, except for the
    fragments' own `real_*` keys and mmgat's import and checkpoint hooks."""
    _, upstream, *_ = DATASETS[name]
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv('MMGAT_DATA_ROOT', raising=False)
        mp.delenv('MMGAT_IMG_SCALE', raising=False)
        ours = unscoped(Config.fromfile(str(REPO / CONFIGS['clean', name])))
        theirs = unscoped(Config.fromfile(upstream_file(upstream)))
    assert own_bases(CONFIGS['clean', name])[0] == upstream
    added = {k for k in ours if k.startswith('real_')} | {
        '_val_split', 'mmgat_default_hooks', 'custom_imports'}
    assert set(ours) == set(theirs) | added
    assert ours['custom_imports']['imports'] == ['mmgat']
    hooks, upstream_hooks = ours.pop('default_hooks'), theirs.pop('default_hooks')
    assert hooks.pop('checkpoint') == dict(upstream_hooks.pop('checkpoint'),
                                           type='mmgat.AtomicCheckpointHook')
    assert hooks.pop('safe_checkpoint') == dict(type='mmgat.SafeCheckpointHook')
    assert hooks == upstream_hooks
    for key in theirs:
        if key != 'default_hooks':
            assert ours[key] == theirs[key], key
    assert ours['model']['backbone']['norm_cfg']['type'] == 'SyncBN'  # mmseg's, untouched


@pytest.mark.parametrize('method, name', sorted(CONFIGS))
def test_method_config_is_clean_config_plus_hook(method, name, layouts):
    config = CONFIGS[method, name]
    cfg = read(config, name, layouts[name])
    if method == 'clean':
        assert 'custom_hooks' not in cfg
        return
    fragment = 'gat' if method == 'gat' else method
    assert own_bases(config)[:2] == [f'../clean/{Path(CONFIGS["clean", name]).name}',
                                     f'../_base_/adversarial/{fragment}.py']
    clean = read(CONFIGS['clean', name], name, layouts[name])._cfg_dict.to_dict()
    ours = cfg._cfg_dict.to_dict()
    extra = {'custom_hooks'} | ({'generator'} if method == 'gat' else set())
    assert set(ours) == set(clean) | extra
    assert {k: v for k, v in ours.items() if k not in extra} == clean
    [hook] = cfg.custom_hooks
    assert hook.type == 'mmgat.AdversarialHook' and hook.phase == 'train'
    attack = hook.attack
    expected = dict(pgd=('mmgat.PGD', 4 / 255), shared=('mmgat.SharedPGD', 8 / 255),
                    universal=('mmgat.UniversalPerturbation', 8 / 255),
                    localized=('mmgat.PGD', 8 / 255), gat=('mmgat.LatentAttack', None),
                    advbn=('mmgat.AdvBN', None))[method]
    assert attack.type == expected[0]
    if expected[1] is not None:
        assert attack.eps == pytest.approx(expected[1]) and attack.get('norm', 'linf') == 'linf'
    if method == 'shared':  # one shared perturbation per GPU batch
        assert attack.heap_size == cfg.train_dataloader.batch_size
    if method == 'advbn':  # the official defaults
        assert (attack.layer, attack.steps, attack.step_size, attack.tau) == (
            'backbone.layer1', 6, 0.2, 1.1)
    if method == 'gat':
        assert attack.generator == dict(config=f'configs/generators/style-ae_{name}.py',
                                        checkpoint=f'work_dirs/style-ae_{name}/generator.pth')
    if method == 'localized':
        assert attack.mask == 'background'
        assert hook.victim.background_classes == cfg.real_background_classes


@pytest.mark.parametrize('name', sorted(DATASETS))
def test_data_pipelines_and_evaluator_build_on_the_layout(name, layouts):
    """mmseg's dataset class reads the stand-in; the pipelines give the scale and crop
    that MMGAT_IMG_SCALE sets; IoUMetric takes the dataset's classes."""
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS as SEG_DATASETS, METRICS
    init_default_scope('mmseg')
    cfg = read(CONFIGS['clean', name], name, layouts[name])
    _, _, size, scale, crop = DATASETS[name]
    width, height = map(int, scale.split(','))
    assert tuple(cfg.model.data_preprocessor.size) == crop == tuple(cfg.crop_size)
    assert 'ood_test_dataloader' not in cfg  # no out-of-domain split at real scale
    train = SEG_DATASETS.build(cfg.train_dataloader.dataset)
    val = SEG_DATASETS.build(cfg.val_dataloader.dataset)
    assert (len(train), len(val)) == (4, 2)
    assert len(train.metainfo['classes']) == (19 if name == 'cityscapes' else 150)
    sample = train[0]
    # a crop (smaller where the random resize went below it)
    assert all(got <= want for got, want in zip(sample['inputs'].shape[-2:], crop))
    labels = set(sample['data_samples'].gt_sem_seg.data.unique().tolist())
    assert labels <= set(range(11)) | {255}  # digits: classes 0-9, background class 10
    shown = val[0]
    assert tuple(shown['inputs'].shape[-2:]) == (height, width)  # square / 1:2 scenes
    metric = METRICS.build(cfg.val_evaluator)
    metric.dataset_meta = val.metainfo
    assert metric.metrics == ['mIoU']


@pytest.mark.parametrize('name', sorted(DATASETS))
def test_background_classes_are_the_stuff_classes(name, layouts):
    from mmseg.datasets import ADE20KDataset, CityscapesDataset
    classes = (CityscapesDataset if name == 'cityscapes' else ADE20KDataset).METAINFO['classes']
    cfg = read(CONFIGS['localized', name], name, layouts[name])
    assert [classes[i] for i in cfg.custom_hooks[0].victim.background_classes] == BACKGROUND[name]
    # the suite's background attack uses the same classes
    from mmgat.evaluation.suite_config import load_suite
    suite = load_suite(str(REPO / f'configs/robustness/unseen_{name}.py'))
    [entry] = [e for e in suite.entries if e['name'] == 'apgd-linf_eps8_background']
    assert entry['victim']['background_classes'] == cfg.real_background_classes


class _Runner:
    def __init__(self, model):
        self.model = model


@pytest.mark.parametrize('name', sorted(DATASETS))
def test_hooks_build_and_localized_needs_background_classes(name, layouts, models,
                                                            tmp_path):
    """Every method's hook builds (GAT with an untrained generator of the dataset's
    generator config) and accepts the model; without background_classes the localized
    hook stops before running, naming the field."""
    from mmgat.registry import HOOKS, MODELS
    model = models[name]
    with dataset_env(name, layouts[name]):
        generator_cfg = Config.fromfile(str(REPO / f'configs/generators/style-ae_{name}.py'))
    torch.manual_seed(0)
    generator = MODELS.build(generator_cfg.model)
    generator_path = tmp_path / 'generator.pth'
    torch.save(dict(state_dict=generator.state_dict()), generator_path)
    for method in METHODS[1:]:
        cfg = read(CONFIGS[method, name], name, layouts[name])
        hook_cfg = cfg.custom_hooks[0]
        if method == 'gat':
            hook_cfg.attack.generator.checkpoint = str(generator_path)
        hook = HOOKS.build(hook_cfg)
        hook.before_run(_Runner(model))
    cfg = read(CONFIGS['localized', name], name, layouts[name])
    del cfg.custom_hooks[0].victim['background_classes']
    hook = HOOKS.build(cfg.custom_hooks[0])
    with pytest.raises(ConfigError, match=r"victim=dict\(background_classes=\[\.\.\.\]\)"):
        hook.before_run(_Runner(model))
    # ... and so does the bare fragment on a segmentor (it names no classes itself)
    fragment = Config.fromfile(str(REPO / 'configs/_base_/adversarial/localized.py'))
    assert 'victim' not in fragment.custom_hooks[0]
    with pytest.raises(ConfigError, match='background_classes'):
        HOOKS.build(fragment.custom_hooks[0]).before_run(_Runner(model))


@pytest.mark.parametrize('name', sorted(DATASETS))
def test_absent_dataset_stops_with_one_line(name, tmp_path, capsys):
    train = load_tool('train')
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv('MMGAT_DATA_ROOT', str(tmp_path / 'nowhere'))
        with pytest.raises(SystemExit) as stop:
            train.main([str(REPO / CONFIGS['pgd', name]), '--work-dir', str(tmp_path / 'w')])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    label = 'Cityscapes' if name == 'cityscapes' else 'ADE20K'
    assert err.startswith(f'error: {label} dataset not found: {tmp_path / "nowhere"}')
    assert f'--layout {name} --out {tmp_path / "nowhere"}' in err
    assert not (tmp_path / 'w').exists()


# ---------------------------------------------------------------- slow: train and test
@pytest.fixture(scope='module')
def generators(layouts, tmp_path_factory):
    """Each dataset's generator config trained 2 iterations by tools/train_generator.py."""
    tool = load_tool('train_generator')
    out = {}
    for name in DATASETS:
        work_dir = tmp_path_factory.mktemp(f'gen_{name}')
        with dataset_env(name, layouts[name]):
            path = tool.main([str(REPO / f'configs/generators/style-ae_{name}.py'),
                              '--work-dir', str(work_dir), '--cfg-options', *FAST[:-1],
                              *TRAIN[:3]])
        out[name] = Path(path)
    return out


def train_and_test(method, name, layouts, generators, work_dir):
    """tools/train.py (2 iterations, val at the end) and tools/test.py on the result."""
    config = str(REPO / CONFIGS[method, name])
    options = [*FAST, *TRAIN, f'visualizer.name=train_{method}_{name}']
    if method == 'gat':
        options.append(f'custom_hooks.0.attack.generator.checkpoint={generators[name]}')
    with dataset_env(name, layouts[name]):
        load_tool('train').main([config, '--work-dir', str(work_dir / 'train'),
                                 '--cfg-options', *options])
        checkpoint = work_dir / 'train' / 'iter_2.pth'
        assert checkpoint.is_file()
        metrics = load_tool('test').main([
            config, str(checkpoint), '--work-dir', str(work_dir / 'test'), '--cfg-options',
            *FAST, f'visualizer.name=test_{method}_{name}'])
    return checkpoint, metrics


@pytest.fixture(scope='module')
def clean_models(layouts, generators, tmp_path_factory):
    return {name: train_and_test('clean', name, layouts, generators,
                                 tmp_path_factory.mktemp(f'clean_{name}'))
            for name in DATASETS}


@pytest.mark.slow
@pytest.mark.parametrize('method, name', sorted(CONFIGS))
def test_config_trains_two_iterations_and_tests(method, name, layouts, generators,
                                                clean_models, tmp_path):
    if method == 'clean':
        checkpoint, metrics = clean_models[name]
    else:
        checkpoint, metrics = train_and_test(method, name, layouts, generators, tmp_path)
    work_dir = checkpoint.parent
    scalars = read_scalars(work_dir)
    losses = [s['loss'] for s in scalars if 'loss' in s]
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)
    assert all('aux.loss_ce' in s for s in scalars if 'loss' in s)  # the auxiliary head
    assert any('mIoU' in s for s in scalars)  # the val loop at iteration 2
    log = next(work_dir.glob('*/*.log')).read_text()
    assert 'SyncBatchNorm (SyncBN) layers in the model will be automatically reverted' in log
    if method != 'clean':
        assert 'AdversarialHook (train)' in log  # the attack really ran
    assert 0.0 <= metrics['mIoU'] <= 100.0 and 'aAcc' in metrics
    state = safe_torch_load(str(checkpoint), map_location='cpu')  # weights_only=True
    assert 'optimizer' not in state
    assert ('mmgat_adversarial' in state) == (method == 'universal')
    if method != 'clean':
        checkpoint.unlink()  # 170 MB each; the clean ones serve the suites


@pytest.mark.slow
@pytest.mark.parametrize('name', sorted(DATASETS))
def test_robustness_suite_runs_on_two_images(name, layouts, generators, clean_models,
                                             tmp_path):
    """configs/robustness/unseen_<name>.py with --num-images 2 on the clean model: the
    suite's own entries, each iterative one cut to one step, and the test's generator
    (the suite's checkpoint path only exists after a real run)."""
    from mmgat.evaluation.suite_config import load_suite
    checkpoint, _ = clean_models[name]
    base = REPO / f'configs/robustness/unseen_{name}.py'
    cut = one_step_entry_options(load_suite(str(base)).for_task('segmentation').names)
    suite = tmp_path / f'unseen_{name}_test.py'
    suite.write_text(
        f"_base_ = [{str(base)!r}]\nbootstrap = dict(replicates=20)\n"
        f"generator = dict(_delete_=True, segmentation=dict(config="
        f"'configs/generators/style-ae_{name}.py', checkpoint={str(generators[name])!r}))\n"
        f"entry_options = {cut!r}\n")
    with dataset_env(name, layouts[name]):
        record = load_tool('test').main([
            str(REPO / CONFIGS['clean', name]), str(checkpoint), '--robustness', str(suite),
            '--num-images', '2', '--work-dir', str(tmp_path / 'work'), '--cfg-options',
            *FAST, f'visualizer.name=suite_{name}'])
    written = json.loads((tmp_path / 'work' / 'robustness.json').read_text())
    entries = written['entries']
    assert not record.get('failed'), {k: entries[k].get('error') for k in record['failed']}
    expected = {'clean', 'apgd-linf_eps2', 'apgd-linf_eps4', 'apgd-linf_eps8',
                'apgd-l2_eps0.5', 'segpgd-linf_eps8', 'cospgd-linf_eps8', 'recolor',
                'spatial', 'perceptual', 'universal', 'apgd-linf_eps8_background', 'advbn',
                'gat-coarse', 'gat-mid', 'gat-fine', 'granularity', 'corruptions'}
    assert expected <= set(entries) and 'val_ood' not in entries
    assert written['task'] == 'segmentation'
    assert (tmp_path / 'work' / 'robustness.md').is_file()
