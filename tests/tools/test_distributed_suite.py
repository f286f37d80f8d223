"""The robustness suite under DDP: 2 gloo processes on CPU against 1 process.

What must match: every deterministic entry's scores, per-image outcomes and intervals
are identical on 1 and 2 ranks (the images are split over the ranks and gathered in
order on rank 0). What differs by design: an attack with a random start draws its
noise per (seed, rank, batch), so its images get other (equally valid) draws on 2
ranks; it is checked for bounds only.
"""
import json
import shutil
import socket

import numpy as np
import pytest

from conftest import FAST_OPTIONS, REPO

CLS = 'configs/clean/resnet18_clean_digitscenes-cls.py'
GENERATOR = 'configs/generators/style-ae_digitscenes-cls.py'
ONE_THREAD = {'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}
ATTACKS = REPO / 'configs/_base_/attacks'
TINY_GENERATOR = ['model.encoder_channels=[4,4,8,8]', 'model.decoder_channels=[8,8,4,4]',
                  'model.latent_channels=4', 'train_dataloader.batch_size=2',
                  'val_dataloader.dataset.indices=4', 'param_scheduler.0.end=1']


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def suite_text(generator_cfg, generator_ckpt):
    """Every entry kind, at sizes that do not divide by 2 (the ranks pad)."""
    return f"""
batch_size = 4
generator = dict(config={str(generator_cfg)!r}, checkpoint={str(generator_ckpt)!r})
strength_check = dict(num_images=5, entries=['pgd'])
entries = [
    dict(name='clean', kind='clean'),
    dict(name='val_ood', kind='split', split='val_ood', num_images=7),
    dict(name='pgd', kind='attack', attack={str(ATTACKS / 'pgd-linf_eps8.py')!r},
         attack_options=dict(steps=2, random_start=False), num_images=9),
    dict(name='pgd-random-start', kind='attack',
         attack={str(ATTACKS / 'pgd-linf_eps8.py')!r},
         attack_options=dict(steps=2, random_start=True), num_images=9),
    dict(name='universal', kind='universal', train_split='val', train_batch_size=8,
         iters=3, num_images=9),
    dict(name='advbn', kind='attack', attack={str(ATTACKS / 'advbn.py')!r},
         attack_options=dict(steps=1), num_images=6),
    dict(name='granularity', kind='granularity', num_images=5),
    dict(name='corruptions', kind='corruption', corruptions=['gaussian_noise', 'fog'],
         severities=[1, 3], num_images=9),
]
"""


def unit_scores(record):
    out = {}
    for name, entry in record['entries'].items():
        units = entry.get('units') or {None: entry}
        for key, unit in units.items():
            out[(name, key)] = (unit['status'], unit.get('score'), unit.get('ci'),
                                unit.get('num_images'))
    return out


def outcome_arrays(work, record, name, key=None):
    entry = record['entries'][name]
    unit = entry['units'][key] if key else entry
    with np.load(work / unit['outcomes']) as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope='module')
def trained(tmp_path_factory, digitscenes_root):
    """A classifier trained for 3 iterations and a tiny generator (2 iterations)."""
    import os
    import subprocess
    import sys
    root = tmp_path_factory.mktemp('ddp_suite')
    env = dict(os.environ, MMGAT_DATA_ROOT=str(digitscenes_root), **ONE_THREAD)
    env['PYTHONPATH'] = str(REPO) + os.pathsep + env.get('PYTHONPATH', '')

    def tool(*args):
        subprocess.run([sys.executable, *map(str, args)], cwd=REPO, env=env, check=True,
                       capture_output=True, timeout=600)

    tool('tools/train.py', CLS, '--work-dir', root / 'train', '--cfg-options',
         *FAST_OPTIONS, 'train_cfg.max_iters=3', 'train_cfg.val_interval=3',
         'train_dataloader.batch_size=8', 'default_hooks.checkpoint.interval=3')
    tool('tools/train_generator.py', GENERATOR, '--work-dir', root / 'gen',
         '--cfg-options', *FAST_OPTIONS, *TINY_GENERATOR, 'train_cfg.max_iters=2',
         'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2')
    dumped = root / 'gen' / GENERATOR.split('/')[-1]  # the config with the overrides
    assert dumped.is_file()
    suite = root / 'suite.py'
    suite.write_text(suite_text(dumped, root / 'gen' / 'generator.pth'))
    return root / 'train' / 'iter_3.pth', suite


@pytest.mark.slow
def test_two_ranks_give_the_scores_of_one(trained, run_tool, tmp_path):
    checkpoint, suite = trained
    one, two = tmp_path / 'one', tmp_path / 'two'
    run_tool('test.py', CLS, checkpoint, '--robustness', suite, '--work-dir', one,
             env=ONE_THREAD)
    result = run_tool('dist_test.sh', CLS, checkpoint, 2, '--robustness', suite,
                      '--work-dir', two, env=dict(ONE_THREAD, PORT=str(free_port())),
                      timeout=600)
    first = json.loads((one / 'robustness.json').read_text())
    second = json.loads((two / 'robustness.json').read_text())
    assert not first['failed'] and not second['failed'], (first['failed'],
                                                          second['failed'])

    a, b = unit_scores(first), unit_scores(second)
    assert a.keys() == b.keys()
    random_start = [k for k in a if k[0] == 'pgd-random-start']
    for key in a:
        if key in random_start:
            continue
        assert a[key] == b[key], key  # status, score, interval, number of images
    # the per-image outcomes, gathered in the split's order
    for name, unit in (('clean', None), ('val_ood', None), ('pgd', None),
                       ('corruptions', 'fog/3'), ('granularity', first['entries'][
                           'granularity']['layers'][0])):
        x, y = outcome_arrays(one, first, name, unit), outcome_arrays(two, second, name, unit)
        assert x.keys() == y.keys()
        for field in x:
            np.testing.assert_array_equal(x[field], y[field], err_msg=f'{name} {field}')
    assert list(outcome_arrays(two, second, 'val_ood')['image_index']) == [
        i * 16 // 7 for i in range(7)]
    # the random start: other draws, same budget and images
    for key in random_start:
        assert b[key][0] == 'done' and b[key][3] == a[key][3]
        assert 0.0 <= b[key][1] <= 1.0
    # sPGD on 2 ranks (4 images each, the gradient all-reduced) takes the very steps
    # of 1 process on the 8 images: the same perturbation, to the last bit
    import torch
    from mmgat.utils import safe_torch_load
    p1 = safe_torch_load(str(one / 'universal_perturbation.pth'), map_location='cpu')
    p2 = safe_torch_load(str(two / 'universal_perturbation.pth'), map_location='cpu')
    assert p2['iters'] == 3 and float(p2['perturbation'].abs().max()) > 0
    assert torch.equal(p1['perturbation'], p2['perturbation'])
    assert first['intervals'].keys() == second['intervals'].keys()
    assert first['unseen_mean'] != pytest.approx(0) and first['mPC'] == second['mPC']

    # rank 0 alone speaks: one progress line per entry, one lock, no stray files
    log = result.stdout + result.stderr
    assert log.count('[1/9] clean (clean)') == 1, log[-3000:]
    assert not list(two.glob('*.lock'))

    # resume under DDP: an entry the JSON lacks (as after a kill) runs again; the
    # rest is reused, by both ranks alike
    del second['entries']['advbn']
    (two / 'robustness.json').write_text(json.dumps(second))
    again = run_tool('dist_test.sh', CLS, checkpoint, 2, '--robustness', suite,
                     '--work-dir', two, env=dict(ONE_THREAD, PORT=str(free_port())),
                     timeout=600)
    log = again.stdout + again.stderr
    assert 'resuming:' in log
    assert '(1 reused from the previous run)' in log  # clean, and so on
    third = json.loads((two / 'robustness.json').read_text())
    assert unit_scores(third)[('advbn', None)] == a[('advbn', None)]
    assert third['entries']['pgd']['seconds'] == second['entries']['pgd']['seconds']


@pytest.mark.slow
def test_a_unit_failing_on_one_rank_fails_on_both(trained, run_tool, tmp_path,
                                                  digitscenes_root):
    """Val images 1 (and for sPGD, every odd one) are corrupt: with 2 ranks only rank
    1 reads them. The units that read them fail on both ranks (no hang), the others
    complete."""
    checkpoint, _ = trained
    data = tmp_path / 'data'
    shutil.copytree(digitscenes_root, data)
    ann = json.loads((data / 'cls' / 'val.json').read_text())
    for item in ann['data_list'][1::2]:
        (data / 'cls' / 'images' / 'val' / item['img_path']).write_bytes(b'not a png')
    broken = data / 'cls' / 'images' / 'val' / ann['data_list'][1]['img_path']
    suite = tmp_path / 'suite.py'
    suite.write_text(
        "batch_size = 2\n"
        "entries = [dict(name='first-image', kind='clean', num_images=1, subset='first'),\n"
        "           dict(name='two-images', kind='clean', num_images=2, subset='first'),\n"
        "           dict(name='universal', kind='universal', train_split='val',\n"
        "                train_batch_size=4, iters=2, num_images=1, subset='first')]\n")
    work = tmp_path / 'work'
    result = run_tool('dist_test.sh', CLS, checkpoint, 2, '--robustness', suite,
                      '--work-dir', work, data_root=data, check=False, timeout=300,
                      env=dict(ONE_THREAD, PORT=str(free_port())))
    assert result.returncode != 0
    record = json.loads((work / 'robustness.json').read_text())
    assert record['status'] == {'first-image': 'done', 'two-images': 'failed',
                                'universal': 'failed'}
    assert 'rank 1' in record['entries']['two-images']['error'], record['entries']
    assert str(broken.name) in record['entries']['two-images']['error'] or \
        'image' in record['entries']['two-images']['error'].lower()
    # sPGD (2 shuffled images per rank and update) meets a corrupt image on whichever
    # rank the shuffle gives one first: rank 0 records its own error or rank 1's
    error = record['entries']['universal']['error']
    assert 'failed on rank 1' in error or 'CorruptImageError' in error, error
    assert '2 suite entries failed (two-images, universal)' in result.stderr


@pytest.mark.slow
def test_a_locked_work_dir_stops_every_rank(trained, run_tool, tmp_path):
    import os
    checkpoint, suite = trained
    work = tmp_path / 'work'
    work.mkdir()
    (work / 'robustness.lock').write_text(json.dumps(
        dict(host=socket.gethostname(), pid=os.getpid(), since='now')))
    result = run_tool('dist_test.sh', CLS, checkpoint, 2, '--robustness', suite,
                      '--work-dir', work, check=False, timeout=300,
                      env=dict(ONE_THREAD, PORT=str(free_port())))
    assert result.returncode != 0
    assert f'pid {os.getpid()} on host {socket.gethostname()}' in result.stderr
    assert not (work / 'robustness.json').exists()
