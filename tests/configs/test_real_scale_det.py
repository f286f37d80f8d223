"""The real-scale detection configs (Faster R-CNN / RetinaNet R-50-FPN on COCO, Faster
R-CNN R-50-FPN on Pascal VOC 07+12, one per method), their GAT generators, robustness
suites, the dataset-absent error and fine-tuning from checkpoints written elsewhere.

Fast: every config builds (model, pipelines, hooks, evaluator, on a DigitScenes stand-in
in the dataset's layout); the clean configs are mmdet's with only the data root, the
scale and mmgat's hooks changed; each method config is the clean config plus its
fragment at the budgets for natural images; a config whose dataset is absent stops
tools/train.py with one line (exit 2).

Slow: every config trains 2 iterations through tools/train.py (mmdet's R-50-FPN, no
ImageNet weights: ``model.backbone.init_cfg=None``) and is tested through tools/test.py
with mmdet's dataset and metric, on 64 x 64 stand-ins (the smallest side FPN's five
levels of stride 32 / 64 allow); each dataset's suite runs every entry at
``--num-images 2`` on the clean Faster R-CNN, with a generator trained 2 iterations; a
checkpoint in stock mmengine's format and one in the older model-zoo format load through
``load_from`` (tools/train.py) and as tools/test.py's checkpoint under torch's
``weights_only`` loading. The tools run in this process on one torch thread
(conftest.one_thread): a process per run would pay the imports each time.
"""
import ast
import contextlib
import importlib.util
import io
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from conftest import REPO, read_scalars
from suite_cuts import one_step_entry_options

METHODS = ('clean', 'pgd', 'shared', 'universal', 'localized', 'gat', 'advbn')
MODELS_ = {  # (model, dataset) -> upstream config
    ('faster-rcnn_r50_fpn', 'coco'): 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    ('retinanet_r50_fpn', 'coco'): 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py',
    ('faster-rcnn_r50_fpn', 'voc0712'):
    'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py',
}
CONFIGS = {(method, model, data): f'configs/{method}/{model}_{method}_1x_{data}.py'
           for (model, data) in MODELS_ for method in METHODS}
LAYOUT = {'coco': 'coco', 'voc0712': 'voc'}
GENERATORS = {'coco': 'configs/generators/style-ae_coco.py',
              'voc0712': 'configs/generators/style-ae_voc.py'}
SUITES = {'coco': 'configs/robustness/unseen_coco.py',
          'voc0712': 'configs/robustness/unseen_voc.py'}
METRIC = {'coco': 'coco/bbox_mAP', 'voc0712': 'pascal_voc/mAP'}
SCALE = '64,64'
GEN_KEY = 'custom_hooks.0.attack.generator.checkpoint'

# No worker processes (persistent workers need some), a log line per iteration, no
# download of the ImageNet backbone, one image per batch, one epoch over the 2 training
# scenes = 2 iterations, no validation while training, no optimizer state on disk.
FAST = [f'{loader}_dataloader.{option}' for loader in ('train', 'val', 'test')
        for option in ('num_workers=0', 'persistent_workers=False')] + [
            'default_hooks.logger.interval=1', 'model.backbone.init_cfg=None']
TRAIN = ['train_dataloader.batch_size=1', 'train_cfg.max_epochs=1',
         'train_cfg.val_interval=2', 'default_hooks.checkpoint.save_optimizer=False']

pytestmark = pytest.mark.usefixtures('one_thread')


# ---------------------------------------------------------------------- helpers
def load_tool(name):
    spec = importlib.util.spec_from_file_location(f'{name}_det_tool',
                                                  REPO / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def dataset_env(root, scale=SCALE):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv('MMGAT_DATA_ROOT', str(root))
        mp.setenv('MMGAT_IMG_SCALE', scale)
        yield


def forget_visualizers():
    """Drop every visualizer instance an earlier run in this process left.

    mmdet's configs name their visualizer (``name='visualizer'``), and mmengine builds
    a ManagerMixin class through ``get_instance``: a later Runner would get the first
    run's visualizer, which writes vis_data/scalars.json into the first run's log dir.
    """
    from mmengine.visualization import Visualizer
    classes = [Visualizer]
    while classes:
        cls = classes.pop()
        cls._instance_dict.clear()
        classes.extend(cls.__subclasses__())


def run_tool(name, *args, root, check=True):
    """``tools/<name>.py ARGS`` in this process: ``(exit status, stderr text)``."""
    forget_visualizers()
    err = io.StringIO()
    code = 0
    with dataset_env(root), contextlib.redirect_stderr(err):
        try:
            load_tool(name).main([str(a) for a in args])
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
    if check and code != 0:
        raise AssertionError(f'tools/{name}.py exited {code}: {err.getvalue()[-3000:]}')
    return code, err.getvalue()


def make_layout(layout, out, num_train=2, num_val=2):
    subprocess.run([sys.executable, 'tools/make_digitscenes.py', '--layout', layout, '--out',
                    str(out), '--size', '64', '--num-train', str(num_train), '--num-val',
                    str(num_val), '--num-val-ood', '0', '--no-progress'],
                   cwd=REPO, check=True, capture_output=True, text=True)
    return out


def read(config, root):
    with dataset_env(root):
        return Config.fromfile(str(REPO / config))


def plain(value):
    """A config value as plain Python, without the ``_scope_`` keys that inheriting
    through ``mmdet::`` adds."""
    if hasattr(value, 'to_dict'):
        value = value.to_dict()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k != '_scope_'}
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    return value


def upstream_path(name):
    """The file of an ``mmdet::`` config inside the installed package."""
    import mmdet
    return str(Path(mmdet.__file__).parent / '.mim' / 'configs' / name.split('::')[1])


def own_bases(path):
    tree = ast.parse((REPO / path).read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], 'id', '') == '_base_':
            return [str((REPO / path).parent.joinpath(b).resolve().relative_to(REPO))
                    for b in ast.literal_eval(node.value)]
    return None


def resize_scales(pipeline):
    return [t['scale'] for t in pipeline if t['type'].split('.')[-1] == 'Resize']


def leaf_datasets(dataset):
    if 'datasets' in dataset:
        return [d for inner in dataset['datasets'] for d in leaf_datasets(inner)]
    if 'dataset' in dataset:
        return leaf_datasets(dataset['dataset'])
    return [dataset]


def score_thr_option(model):
    # untrained detectors score below mmdet's 0.05: keep every box, so the metric has
    # detections to score
    key = 'model.test_cfg.rcnn.score_thr' if model.startswith('faster') \
        else 'model.test_cfg.score_thr'
    return f'{key}=0.0'


# ---------------------------------------------------------------------- fixtures
@pytest.fixture(scope='session')
def layouts(tmp_path_factory):
    """One 64 px stand-in per dataset: 2 train scenes (VOC: one in VOC2007, one in
    VOC2012 trainval), 2 val scenes."""
    root = tmp_path_factory.mktemp('det_layouts')
    return {data: make_layout(layout, root / layout) for data, layout in LAYOUT.items()}


@pytest.fixture(scope='session')
def untrained_generators(tmp_path_factory):
    """Untrained generators of the dataset generator configs (for building GAT hooks)."""
    from mmgat.registry import MODELS
    out = {}
    for data, config in GENERATORS.items():
        torch.manual_seed(0)
        cfg = Config.fromfile(str(REPO / config))
        path = tmp_path_factory.mktemp('gen') / 'generator.pth'
        torch.save(dict(state_dict=MODELS.build(cfg.model).state_dict()), path)
        out[data] = path
    return out


# ---------------------------------------------------------------------- fast tests
def test_every_real_scale_detection_config_exists():
    for (method, model, data), config in CONFIGS.items():
        assert (REPO / config).is_file(), config
    for path in list(GENERATORS.values()) + list(SUITES.values()):
        assert (REPO / path).is_file(), path


@pytest.mark.parametrize('data', sorted(LAYOUT))
def test_dataset_fragment_changes_only_root_and_scale(data, layouts):
    """The clean config is mmdet's with the env's root and scale and mmgat's hooks."""
    for (method, model, d), config in CONFIGS.items():
        if method != 'clean' or d != data:
            continue
        ours = read(config, layouts[data])
        with dataset_env('/elsewhere', '100,50'):
            other = Config.fromfile(str(REPO / config))
        upstream = Config.fromfile(upstream_path(MODELS_[(model, data)]))
        assert plain(ours.model) == plain(upstream.model)
        for key in ('train_cfg', 'optim_wrapper', 'param_scheduler', 'default_scope',
                    'auto_scale_lr'):
            assert plain(ours[key]) == plain(upstream[key]), key
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            mine, theirs = plain(ours[loader]), plain(upstream[loader])
            datasets = leaf_datasets(mine['dataset'])
            assert len(datasets) == len(leaf_datasets(theirs['dataset']))
            for ds, up, far in zip(datasets, leaf_datasets(theirs['dataset']),
                                   leaf_datasets(plain(other[loader])['dataset'])):
                assert ds['data_root'] == f'{layouts[data]}/'
                assert far['data_root'] == '/elsewhere/'
                assert resize_scales(ds['pipeline']) == [(64, 64)]
                assert resize_scales(far['pipeline']) == [(100, 50)]
                assert resize_scales(up['pipeline']) == [
                    (1333, 800) if data == 'coco' else (1000, 600)]
                # apart from root and scale: mmdet's dataset, pipeline order included
                for key in set(up) - {'data_root', 'pipeline'}:
                    assert ds[key] == up[key], (loader, key)
                assert [t['type'] for t in ds['pipeline']] == [
                    t['type'] for t in up['pipeline']]
            for key in set(theirs) - {'dataset'}:
                assert mine[key] == theirs[key], (loader, key)
        if data == 'coco':
            assert ours.val_evaluator.ann_file == \
                f'{layouts[data]}/annotations/instances_val2017.json'
        else:
            assert plain(ours.val_evaluator) == plain(upstream.val_evaluator)
        assert ours.default_hooks.checkpoint.type == 'mmgat.AtomicCheckpointHook'
        assert ours.default_hooks.checkpoint.interval == 1  # mmdet's, kept
        assert ours.default_hooks.safe_checkpoint.type == 'mmgat.SafeCheckpointHook'
        assert ours.custom_imports.imports == ['mmgat']
        assert 'custom_hooks' not in ours and 'ood_test_dataloader' not in ours


@pytest.mark.parametrize('key', sorted(k for k in CONFIGS if k[0] != 'clean'), ids='_'.join)
def test_method_config_is_clean_config_plus_its_fragment(key, layouts):
    method, model, data = key
    config = CONFIGS[key]
    clean = f'configs/clean/{model}_clean_1x_{data}.py'
    fragment = f'configs/_base_/adversarial/{method}.py'
    bases = own_bases(config)
    assert bases[:2] == [clean, fragment]
    cfg, base = read(config, layouts[data]), read(clean, layouts[data])
    hook = cfg.custom_hooks[0]
    assert len(cfg.custom_hooks) == 1 and hook.type == 'mmgat.AdversarialHook'
    for k in ('model', 'train_dataloader', 'test_dataloader', 'train_cfg', 'optim_wrapper'):
        assert cfg[k] == base[k], k
    attack = hook.attack
    if method in ('pgd', 'localized', 'shared', 'universal'):
        assert attack.get('norm', 'linf') == 'linf'  # UniversalPerturbation's default
        assert attack.eps in (4 / 255, 8 / 255)  # PAPERS.md: natural-image budgets
    if method == 'localized':
        assert attack.mask == 'background'
    if method == 'shared':
        assert cfg.train_dataloader.batch_size % attack.heap_size == 0
        assert attack.heap_size == cfg.train_dataloader.batch_size == 2
    if method == 'universal':
        side = math.ceil(64 / 32) * 32
        assert tuple(attack.size) == (side, side)
        with dataset_env(layouts[data], '1333,800' if data == 'coco' else '1000,600'):
            full = Config.fromfile(str(REPO / config))  # mmdet's scale
        # the long side, padded to 32: covers landscape and portrait batches
        side = 1344 if data == 'coco' else 1024
        assert tuple(full.custom_hooks[0].attack.size) == (side, side)
    if method == 'advbn':  # the official defaults
        assert (attack.layer, attack.steps, attack.step_size, attack.tau) == (
            'backbone.layer1', 6, 0.2, 1.1)
        assert cfg.model.backbone.frozen_stages == 1  # layers before the cut frozen
    if method == 'gat':
        gen = GENERATORS[data]
        assert bases[2] == f'configs/_base_/generators/{Path(gen).stem}.py'
        assert attack.generator.config == gen
        assert attack.generator.checkpoint == f'work_dirs/{Path(gen).stem}/generator.pth'


@pytest.mark.parametrize('key', sorted(CONFIGS), ids='_'.join)
def test_config_builds_model_pipelines_hooks_and_evaluator(key, layouts,
                                                           untrained_generators):
    import mmgat  # noqa: F401
    from mmdet.registry import DATASETS, METRICS, MODELS, TRANSFORMS
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope
    from mmgat.registry import HOOKS
    method, model, data = key
    cfg = read(CONFIGS[key], layouts[data])
    init_default_scope('mmdet')
    cfg.model.backbone.init_cfg = None
    detector = MODELS.build(cfg.model)
    assert type(detector).__name__ == ('RetinaNet' if model.startswith('retina')
                                       else 'FasterRCNN')
    classes = 80 if data == 'coco' else 20
    head = detector.bbox_head if model.startswith('retina') else detector.roi_head.bbox_head
    assert head.num_classes == classes
    for loader in ('train_dataloader', 'test_dataloader'):
        Compose([TRANSFORMS.build(t) for t in leaf_datasets(cfg[loader].dataset)[0].pipeline])
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    assert len(dataset) == 2 and len(dataset.metainfo['classes']) == classes
    METRICS.build(cfg.test_evaluator)
    for hook in cfg.get('custom_hooks', []):
        if method == 'gat':
            hook.attack.generator.checkpoint = str(untrained_generators[data])
        built = HOOKS.build(hook)
        assert type(built).__name__ == 'AdversarialHook'


def test_generator_configs_read_the_layouts(layouts):
    for data, config in GENERATORS.items():
        cfg = read(config, layouts[data])
        assert cfg.model.type == 'mmgat.StyleAutoEncoder'
        train = leaf_datasets(cfg.train_dataloader.dataset)
        assert [d['data_root'] for d in train] == [f'{layouts[data]}/'] * len(train)
        assert len(train) == (1 if data == 'coco' else 2)
        crops = [t for t in train[0]['pipeline'] if t['type'] == 'mmdet.RandomCrop']
        assert crops and tuple(crops[0]['crop_size']) == (256, 256)
        assert resize_scales(cfg.test_dataloader.dataset.pipeline) == [(64, 64)]
        assert 'ood_test_dataloader' not in cfg


def test_suites_have_no_val_ood_and_use_their_generator():
    from mmgat.evaluation.suite_config import load_suite
    base = load_suite(str(REPO / 'configs/robustness/unseen_digitscenes.py'))
    for data, path in SUITES.items():
        suite = load_suite(str(REPO / path)).for_task('detection')
        assert 'val_ood' not in suite.names
        assert all(e['split'] == 'val' for e in suite.entries)
        expected = [n for n in base.for_task('detection').names if n != 'val_ood']
        assert suite.names == expected
        assert suite.generator_for('detection')['config'] == GENERATORS[data]
        sizes = {e['name']: e['num_images'] for e in suite.entries}
        assert sizes['clean'] is None and sizes['apgd-linf_eps8'] >= 500
        corruptions = next(e for e in suite.entries if e['kind'] == 'corruption')
        assert len(corruptions['corruptions']) == 19
        assert corruptions['severities'] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize('data', sorted(LAYOUT))
def test_absent_dataset_stops_train_with_one_line(data, tmp_path):
    missing = tmp_path / 'nowhere'
    config = CONFIGS[('clean', 'faster-rcnn_r50_fpn', data)]
    code, err = run_tool('train', config, '--work-dir', tmp_path / 'w', root=missing,
                         check=False)
    assert code == 2, err
    lines = [line for line in err.strip().splitlines() if line.startswith('error:')]
    assert len(lines) == 1, err
    name, first = (('COCO', 'annotations/instances_train2017.json') if data == 'coco'
                   else ('Pascal VOC', 'VOC2007/ImageSets/Main/trainval.txt'))
    assert f'{name} dataset not found: {missing}/{first} does not exist' in lines[0]
    assert (f'python tools/make_digitscenes.py --layout {LAYOUT[data]} --out {missing}'
            in lines[0])
    assert not (tmp_path / 'w').exists() or not any((tmp_path / 'w').rglob('*.pth'))


def test_dataset_check_passes_with_only_the_val_split(layouts, tmp_path):
    """tools/test.py needs only val: a root without train annotations is not 'absent'."""
    import shutil
    from mmgat.utils.dataset_check import absent_dataset
    root = tmp_path / 'coco'
    shutil.copytree(layouts['coco'], root)
    (root / 'annotations/instances_train2017.json').unlink()
    cfg = read(CONFIGS[('clean', 'faster-rcnn_r50_fpn', 'coco')], root)
    assert absent_dataset(cfg) is None
    (root / 'annotations/instances_val2017.json').unlink()
    assert absent_dataset(cfg)[0] == 'COCO'
    # DigitScenes' own datasets are left to their own check
    assert absent_dataset(Config.fromfile(
        str(REPO / 'configs/clean/faster-rcnn_r18_clean_digitscenes.py'))) is None


# ---------------------------------------------------------------------- slow tests
@pytest.fixture(scope='session')
def trained_generators(layouts, tmp_path_factory):
    """Each dataset's generator config, trained 2 iterations by tools/train_generator.py."""
    out = {}
    for data, config in GENERATORS.items():
        work = tmp_path_factory.mktemp(f'gen_{data}')
        run_tool('train_generator', config, '--work-dir', work, '--cfg-options', *FAST[:6],
                 'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
                 'train_dataloader.batch_size=2', 'default_hooks.checkpoint.interval=2',
                 root=layouts[data])
        assert (work / 'generator.pth').is_file()
        out[data] = work / 'generator.pth'
    return out


def train_options(key, generators):
    method, model, data = key
    options = FAST + TRAIN + [score_thr_option(model)]
    if data == 'voc0712':
        options.append('train_dataloader.dataset.times=1')  # mmdet repeats VOC 3 times
    if method == 'shared':
        # one perturbation per heap of 2: batches of 2, two epochs = 2 iterations
        options += ['train_dataloader.batch_size=2', 'train_cfg.max_epochs=2']
    if method == 'gat':
        options.append(f'{GEN_KEY}={generators[data]}')
    return options


_TRAINED = {}


def train_config(key, layouts, generators, work):
    """Train ``key`` 2 iterations (once per session); its final checkpoint."""
    if key not in _TRAINED:
        method, model, data = key
        run_tool('train', CONFIGS[key], '--work-dir', work, '--cfg-options',
                 *train_options(key, generators), root=layouts[data])
        losses = [s['loss'] for s in read_scalars(work) if 'loss' in s]
        assert len(losses) == 2 and all(math.isfinite(v) for v in losses), losses
        epochs = 2 if method == 'shared' else 1
        checkpoint = work / f'epoch_{epochs}.pth'
        assert checkpoint.is_file()
        log = next(work.glob('*/*.log')).read_text()
        if method != 'clean':
            assert 'AdversarialHook (train)' in log
        _TRAINED[key] = checkpoint
    return _TRAINED[key]


def test_metrics(key, checkpoint, layouts, out, *extra):
    method, model, data = key
    run_tool('test', CONFIGS[key], checkpoint, '--work-dir', out.parent / 'test', '--out',
             out, '--cfg-options', *FAST, score_thr_option(model), *extra,
             root=layouts[data])
    return json.loads(out.read_text())['metrics']


test_metrics.__test__ = False  # a helper, not a test


@pytest.mark.slow
@pytest.mark.parametrize('key', sorted(CONFIGS), ids='_'.join)
def test_config_trains_two_iterations_and_tests(key, layouts, trained_generators,
                                                tmp_path):
    checkpoint = train_config(key, layouts, trained_generators, tmp_path / 'train')
    # testing never runs the training attack: GAT's generator need not exist
    extra = [f'{GEN_KEY}={tmp_path}/absent.pth'] if key[0] == 'gat' else []
    metrics = test_metrics(key, checkpoint, layouts, tmp_path / 'metrics.json', *extra)
    data = key[2]
    assert METRIC[data] in metrics and 0.0 <= metrics[METRIC[data]] <= 1.0, metrics


@pytest.mark.slow
@pytest.mark.parametrize('data', sorted(LAYOUT))
def test_dataset_suite_runs_every_entry(data, layouts, trained_generators, tmp_path):
    """``tools/test.py CONFIG CKPT --robustness <suite> --num-images 2`` on the clean
    Faster R-CNN; the suite's own entries, with its iteration counts cut to one step and
    the test's generator (the suite's checkpoint path only exists after a real run)."""
    from mmgat.evaluation.suite_config import load_suite
    key = ('clean', 'faster-rcnn_r50_fpn', data)
    checkpoint = train_config(key, layouts, trained_generators, tmp_path / 'train')
    names = load_suite(str(REPO / SUITES[data])).for_task('detection').names
    cut = one_step_entry_options(names)
    suite = tmp_path / 'suite.py'
    suite.write_text(
        f'_base_ = [{str(REPO / SUITES[data])!r}]\nbootstrap = dict(replicates=20)\n'
        f'generator = dict(_delete_=True, detection=dict(config={GENERATORS[data]!r}, '
        f'checkpoint={str(trained_generators[data])!r}))\nentry_options = {cut!r}\n')
    work = tmp_path / 'robustness'
    run_tool('test', CONFIGS[key], checkpoint, '--robustness', suite, '--num-images', 2,
             '--work-dir', work, '--cfg-options', *FAST, 'train_dataloader.batch_size=2',
             root=layouts[data])
    record = json.loads((work / 'robustness.json').read_text())
    entries = record['entries']
    assert list(entries) == names
    assert all(e['status'] == 'done' for e in entries.values()), {
        n: e.get('error') for n, e in entries.items() if e['status'] != 'done'}
    assert (work / 'robustness.md').is_file()


STOCK_WRITER = r'''
"""Write a checkpoint as stock mmengine's CheckpointHook does (mmgat not imported), with
the weights of SOURCE: python - WORK_DIR SOURCE OUT CLASSES_JSON"""
import json, sys
import torch, torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset


class Toy(BaseModel):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(inputs)
        return dict(loss=out.pow(2).mean()) if mode == 'loss' else out


class Data(Dataset):
    def __init__(self, classes):
        self.metainfo = dict(classes=tuple(classes))

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return dict(inputs=torch.ones(2))


work_dir, source, out, classes = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
runner = Runner(
    model=Toy(), work_dir=work_dir, experiment_name='stock',
    train_dataloader=dict(dataset=Data(classes), batch_size=2,
                          sampler=dict(type='DefaultSampler', shuffle=False),
                          collate_fn=dict(type='default_collate')),
    train_cfg=dict(by_epoch=False, max_iters=2),
    optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
    param_scheduler=dict(type='MultiStepLR', milestones=[1], by_epoch=False),
    default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False)))
runner.train()
assert 'mmgat' not in sys.modules
stock = torch.load(f'{work_dir}/iter_2.pth', map_location='cpu', weights_only=False)
# the weights of the detector (a trusted file this test wrote)
stock['state_dict'] = torch.load(source, map_location='cpu', weights_only=False)['state_dict']
torch.save(stock, out)
'''


def stock_checkpoint(source, classes, tmp_path):
    out = tmp_path / 'stock.pth'
    subprocess.run([sys.executable, '-c', STOCK_WRITER, str(tmp_path / 'stock_run'),
                    str(source), str(out), json.dumps(list(classes))],
                   cwd=REPO, check=True, capture_output=True, text=True)
    return out


def zoo_checkpoint(source, classes, tmp_path):
    """The format of mmdet's older model-zoo files (mmcv 1.x runner, publish_model.py)."""
    from mmgat.utils import safe_torch_load
    weights = safe_torch_load(str(source), map_location='cpu')['state_dict']
    out = tmp_path / 'zoo.pth'
    torch.save(dict(
        meta=dict(mmcv_version='1.4.0', mmdet_version='2.18.0', time='Thu Jan 30 2020',
                  epoch=12, iter=87960, CLASSES=tuple(classes), seed=0,
                  exp_name='faster_rcnn_r50_fpn_1x_coco.py',
                  config="model = dict(type='FasterRCNN')\n",
                  env_info='sys.platform: linux\nPython: 3.7.4\nPyTorch: 1.3.1'),
        state_dict=weights), out)
    return out


@pytest.mark.slow
@pytest.mark.parametrize('kind', ['stock', 'zoo'])
def test_pretrained_start_from_checkpoints_written_elsewhere(kind, layouts,
                                                             trained_generators, tmp_path):
    """A detector fine-tuned from (``load_from``) and tested with a checkpoint in stock
    mmengine's format (message hub with pickled HistoryBuffers, optimizer, schedulers)
    or the model zoo's, both loaded with ``weights_only=True``."""
    from mmgat.utils import safe_torch_load
    key = ('clean', 'faster-rcnn_r50_fpn', 'coco')
    source = train_config(key, layouts, trained_generators, tmp_path / 'train')
    classes = read(CONFIGS[key], layouts['coco']).train_dataloader.dataset.get(
        'metainfo', {}).get('classes') or [f'c{i}' for i in range(80)]
    make = stock_checkpoint if kind == 'stock' else zoo_checkpoint
    checkpoint = make(source, classes, tmp_path)
    raw = torch.load(checkpoint, map_location='cpu', weights_only=False)
    if kind == 'stock':
        assert {'meta', 'state_dict', 'message_hub', 'optimizer', 'param_schedulers'} <= \
            set(raw)
        assert {'mmengine_version', 'dataset_meta', 'iter', 'seed', 'experiment_name',
                'time'} <= set(raw['meta'])
        assert 'builtins.getattr' in torch.serialization.get_unsafe_globals_in_checkpoint(
            str(checkpoint))
    else:
        assert {'CLASSES', 'config', 'env_info'} <= set(raw['meta'])
    assert safe_torch_load(str(checkpoint))['state_dict'].keys() == raw['state_dict'].keys()

    # tools/test.py with it gives the scores of the checkpoint its weights came from
    ours = test_metrics(key, source, layouts, tmp_path / 'source.json')
    theirs = test_metrics(key, checkpoint, layouts, tmp_path / 'theirs.json')
    assert theirs == ours

    # fine-tuning from it: the weights are loaded (not ImageNet's, not random)
    work = tmp_path / 'finetune'
    run_tool('train', CONFIGS[key], '--work-dir', work, '--cfg-options',
             *train_options(key, trained_generators), f'load_from={checkpoint}',
             root=layouts['coco'])
    log = next(work.glob('*/*.log')).read_text()
    assert f'Load checkpoint from {checkpoint}' in log
    tuned = safe_torch_load(str(work / 'epoch_1.pth'))
    assert tuned['meta']['epoch'] == 1  # a new training, not a resumed one
    name = 'backbone.layer1.0.conv1.weight'  # frozen by mmdet (frozen_stages=1)
    assert torch.equal(tuned['state_dict'][name], raw['state_dict'][name])
