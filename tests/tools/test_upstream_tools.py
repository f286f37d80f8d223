"""mmdet's and mmseg's own analysis tools (the scripts shipped inside the installed
packages, run unmodified) on mmgat configs, checkpoints and logs (README, "mmdet's and
mmseg's analysis tools")."""
import importlib.util
import os
import pickle
import subprocess
import sys
from pathlib import Path

import mmdet
import mmseg
import pytest

from conftest import FAST_OPTIONS, REPO

DET = 'configs/clean/faster-rcnn_r18_clean_digitscenes.py'
SEG = 'configs/clean/fpn_r18_clean_digitscenes.py'
# The scripts import `tools.analysis_tools.*`: the package's .mim folder goes on the path.
MMDET_MIM = Path(mmdet.__file__).parent / '.mim'
MMSEG_MIM = Path(mmseg.__file__).parent / '.mim'
ITERS = 4

pytestmark = pytest.mark.slow


def run(cmd, data_root, path=(), timeout=600):
    """``python CMD`` in the repository with the tiny DigitScenes; asserts exit status 0."""
    env = dict(os.environ, MMGAT_DATA_ROOT=str(data_root), MPLBACKEND='Agg')
    env['PYTHONPATH'] = os.pathsep.join([*map(str, path), env.get('PYTHONPATH', '')])
    cmd = [sys.executable, *map(str, cmd)]
    result = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, (
        f'{" ".join(cmd)} exited {result.returncode}\n--- stdout\n{result.stdout[-6000:]}'
        f'\n--- stderr\n{result.stderr[-6000:]}')
    return result.stdout + result.stderr


def upstream(mim, script, *args, data_root, path=()):
    """Run ``tools/analysis_tools/SCRIPT`` of the package whose .mim folder is ``mim``.

    mmgat itself is not put on the path: the tools find it through the configs'
    ``custom_imports`` (and its checkpoints load through the safe loader it installs).
    """
    return run([mim / 'tools' / 'analysis_tools' / script, *args], data_root,
               path=[mim, *path])


def train_briefly(config, work_dir, data_root):
    run(['tools/train.py', config, '--work-dir', work_dir, '--cfg-options', *FAST_OPTIONS,
         f'train_cfg.max_iters={ITERS}', f'train_cfg.val_interval={ITERS}',
         'train_dataloader.dataset.indices=8', 'train_dataloader.batch_size=4',
         f'default_hooks.checkpoint.interval={ITERS}'], data_root, path=[REPO])
    logs = [p for p in Path(work_dir).glob('*/vis_data/*.json') if p.name != 'scalars.json']
    assert len(logs) == 1, logs  # WORK_DIR/TIMESTAMP/vis_data/TIMESTAMP.json
    return logs[0]


@pytest.fixture(scope='module')
def detector(digitscenes_root, tmp_path_factory):
    """A DigitScenes detector trained for a few iterations: (work dir, json log)."""
    work_dir = tmp_path_factory.mktemp('det')
    return work_dir, train_briefly(DET, work_dir, digitscenes_root)


@pytest.fixture(scope='module')
def seaborn_path(tmp_path_factory):
    """Where ``import seaborn`` finds a module for analyze_logs.py.

    Both analyze_logs.py import seaborn, which mmgat does not install, only for
    ``sns.set_style``; without it a stand-in with that one function is put on the path,
    so that what is tested is that the tools read mmgat's logs.
    """
    if importlib.util.find_spec('seaborn') is not None:
        return []
    stub = tmp_path_factory.mktemp('seaborn_stub')
    (stub / 'seaborn.py').write_text('def set_style(style=None, rc=None):\n    pass\n')
    return [stub]


def test_mmdet_test_robustness_on_a_briefly_trained_detector(detector, digitscenes_root,
                                                              tmp_path):
    work_dir, _ = detector
    out = tmp_path / 'predictions.pkl'
    output = upstream(
        MMDET_MIM, 'test_robustness.py', DET, work_dir / f'iter_{ITERS}.pth', '--out', out,
        '--corruptions', 'gaussian_noise', '--severities', '1', '--seed', '0',
        '--work-dir', tmp_path / 'work', '--cfg-options', 'test_dataloader.num_workers=0',
        data_root=digitscenes_root)

    assert f'Load checkpoint from {work_dir / f"iter_{ITERS}.pth"}' in output  # mmgat's loader
    assert 'Testing gaussian_noise at severity 1' in output
    assert 'Mean Performance under Corruption [mPC] (bbox)' in output
    # The script's own results file: corruption -> severity -> CocoMetric's metrics.
    with open(tmp_path / 'predictions_results.pkl', 'rb') as f:
        results = pickle.load(f)
    assert list(results) == ['gaussian_noise'] and list(results['gaussian_noise']) == [1]
    metrics = results['gaussian_noise'][1]
    for key in ('bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_75', 'bbox_mAP_s', 'bbox_mAP_m'):
        assert -1.0 <= metrics[f'coco/{key}'] <= 1.0  # -1: no box of that size
    # --out: the predictions of the 16 val scenes (mmengine's DumpResults).
    with open(out, 'rb') as f:
        predictions = pickle.load(f)
    assert len(predictions) == 16 and 'pred_instances' in predictions[0]


def browse(mim, config, out, data_root):
    upstream(mim, 'browse_dataset.py', config, '--output-dir', out, '--not-show',
             '--cfg-options', 'train_dataloader.dataset.indices=3', data_root=data_root)
    images = sorted(out.iterdir())
    assert len(images) == 3 and all(p.stat().st_size > 0 for p in images), images


def test_mmdet_browse_dataset_writes_the_annotated_scenes(digitscenes_root, tmp_path):
    browse(MMDET_MIM, DET, tmp_path / 'browse', digitscenes_root)


def test_mmseg_browse_dataset_fails_on_an_mmseg_bug(digitscenes_root, tmp_path):
    """mmseg 1.2.2's browse_dataset.py hands SegLocalVisualizer a non-contiguous image,
    which cv2.rectangle refuses, for any dataset (open-mmlab/mmsegmentation#3405; README
    limitation). When this fails, mmseg has fixed it: test the output, update the README."""
    with pytest.raises(AssertionError,
                       match='Layout of the output array img is incompatible with cv::Mat'):
        browse(MMSEG_MIM, SEG, tmp_path / 'browse', digitscenes_root)


def test_mmdet_analyze_logs_reads_the_training_log(detector, digitscenes_root, seaborn_path,
                                                   tmp_path):
    _, log = detector

    def analyze(*args):
        return upstream(MMDET_MIM, 'analyze_logs.py', *args, data_root=digitscenes_root,
                        path=seaborn_path)

    output = analyze('cal_train_time', log)
    assert 'average iter time' in output
    for keys in (['loss', 'loss_cls', 'loss_rpn_bbox'], ['bbox_mAP', 'bbox_mAP_50']):
        png = tmp_path / f'{keys[0]}.png'
        analyze('plot_curve', log, '--keys', *keys, '--out', png)
        assert png.stat().st_size > 0


def test_mmseg_analyze_logs_reads_a_training_log(digitscenes_root, seaborn_path, tmp_path):
    log = train_briefly(SEG, tmp_path / 'seg', digitscenes_root)
    png = tmp_path / 'seg.png'
    upstream(MMSEG_MIM, 'analyze_logs.py', log, '--keys', 'mIoU', 'loss', '--out', png,
             data_root=digitscenes_root, path=seaborn_path)
    assert png.stat().st_size > 0
    # mmgat's own tools/test.py --show-dir on the same segmentor (mmseg's visualization
    # hook takes no test_out_dir: the images go to the visualizer's save_dir)
    show = tmp_path / 'show'
    run(['tools/test.py', SEG, tmp_path / 'seg' / f'iter_{ITERS}.pth', '--show-dir', show,
         '--work-dir', tmp_path / 'seg_test', '--cfg-options',
         'test_dataloader.num_workers=0'], digitscenes_root, path=[REPO])
    assert list(show.rglob('*.png')), sorted(show.rglob('*'))


def test_show_dir_draws_detections(detector, digitscenes_root, tmp_path):
    work_dir, _ = detector
    show = tmp_path / 'show'
    run(['tools/test.py', DET, work_dir / f'iter_{ITERS}.pth', '--show-dir', show,
         '--work-dir', tmp_path / 'det_test', '--cfg-options',
         'test_dataloader.num_workers=0'], digitscenes_root, path=[REPO])
    assert list(show.rglob('*.png')), sorted(show.rglob('*'))
