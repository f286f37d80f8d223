"""Suite configs: the default suite, validation, _base_ inheritance, hashes, subsets."""
import os.path as osp

import pytest

from mmgat.evaluation import config_hash, load_suite, subset_indices
from mmgat.evaluation.kinds import resolve_attack
from mmgat.transforms.corruptions import CORRUPTIONS, HOLDOUT_CORRUPTIONS
from mmgat.utils.errors import ConfigError

from conftest import REPO

SUITE = str(REPO / 'configs/robustness/unseen_digitscenes.py')


def test_advbn_strength_suite_caps_the_papers_steps_at_each_tau():
    suite = load_suite(str(REPO / 'configs/robustness/advbn_strength_digitscenes.py'))
    assert suite.names == ['advbn-tau0.1', 'advbn-tau0.25', 'advbn-tau0.5']
    for entry, tau in zip(suite.entries, (0.1, 0.25, 0.5)):
        attack, _ = resolve_attack(entry)
        assert (attack['type'], attack['tau'], attack['steps']) == ('mmgat.AdvBN', tau, 6)
        assert entry['num_images'] == 24


def test_default_suite_lists_every_kind_and_its_attack_files_resolve():
    suite = load_suite(SUITE)
    assert suite.names == [
        'clean', 'val_ood', 'apgd-linf_eps2', 'apgd-linf_eps4', 'apgd-linf_eps8',
        'apgd-l2_eps0.5', 'segpgd-linf_eps8', 'cospgd-linf_eps8',
        'tog-vanishing_linf_eps8', 'recolor', 'spatial', 'perceptual', 'universal',
        'apgd-linf_eps8_background', 'advbn', 'gat-coarse', 'gat-mid', 'gat-fine',
        'granularity', 'corruptions']
    # the task-specific attacks only for their task
    assert 'segpgd-linf_eps8' not in suite.for_task('detection').names
    assert 'tog-vanishing_linf_eps8' in suite.for_task('detection').names
    assert 'cospgd-linf_eps8' in suite.for_task('segmentation').names
    assert len(suite.for_task('classification')) == len(suite) - 3
    kinds = {e['name']: e['kind'] for e in suite.entries}
    assert set(kinds.values()) == {'clean', 'split', 'attack', 'universal',
                                   'granularity', 'corruption'}
    by_name = {e['name']: e for e in suite.entries}
    assert by_name['corruptions']['corruptions'] == list(CORRUPTIONS)
    assert by_name['corruptions']['severities'] == [1, 2, 3, 4, 5]
    # attack files are found whatever the working directory (fileDirname)
    path = by_name['apgd-linf_eps8']['attack']
    assert osp.isabs(path) and osp.isfile(path)
    attack, _ = resolve_attack(by_name['apgd-linf_eps2'])
    assert attack['type'] == 'mmgat.APGD' and attack['eps'] == pytest.approx(2 / 255)
    attack, victim = resolve_attack(by_name['apgd-linf_eps8_background'])
    assert attack['mask'] == 'background' and attack['steps'] == 10  # attack_options
    assert victim == dict(background_classes=[0])
    attack, _ = resolve_attack(by_name['advbn'])
    assert attack['type'] == 'mmgat.AdvBN' and attack['layer'] == 'backbone.layer1'
    # the suite's per-task generator is filled into the latent attacks
    attack, _ = resolve_attack(by_name['gat-coarse'], suite.generator_for('classification'))
    assert attack['generator']['config'].endswith('style-ae_digitscenes-cls.py')
    attack, _ = resolve_attack(by_name['gat-coarse'], suite.generator_for('detection'))
    assert attack['generator']['config'].endswith('style-ae_digitscenes.py')
    assert suite.batch_size == 8 and suite.num_workers == 0


def test_inheritance_skip_override_and_extra_entries(tmp_path):
    child = tmp_path / 'mine.py'
    child.write_text(
        f"_base_ = [{SUITE!r}]\n"
        "skip = ['granularity', 'universal']\n"
        "entry_options = {'apgd-linf_eps8': dict(num_images=300, attack_options=dict("
        "steps=20)), 'corruptions': dict(corruptions='holdout', severities=[3])}\n"
        "extra_entries = [dict(name='fgsm', kind='attack', "
        "attack='configs/_base_/attacks/fgsm-linf_eps8.py')]\n"
        "batch_size = 4\n")
    suite = load_suite(str(child))
    assert 'granularity' not in suite.names and 'universal' not in suite.names
    assert suite.names[-1] == 'fgsm' and suite.batch_size == 4
    by_name = {e['name']: e for e in suite.entries}
    pgd = by_name['apgd-linf_eps8']
    assert pgd['num_images'] == 300
    attack, _ = resolve_attack(pgd)
    assert attack['steps'] == 20 and attack['eps'] == pytest.approx(8 / 255)
    assert by_name['corruptions']['corruptions'] == list(HOLDOUT_CORRUPTIONS)
    assert by_name['corruptions']['severities'] == [3]
    assert by_name['apgd-linf_eps4']['attack_options'] == dict(  # untouched
        steps=10, eps=pytest.approx(4 / 255))


@pytest.mark.parametrize('entries, message', [
    ([dict(name='x', kind='nonsense')], 'unknown kind'),
    ([dict(kind='clean')], 'name must be'),
    ([dict(name='a/b', kind='clean')], 'name must be'),
    ([dict(name='x', kind='clean'), dict(name='x', kind='clean')], 'two entries'),
    ([dict(name='x', kind='clean', steps=3)], "unknown key"),
    ([dict(name='x', kind='clean', num_images=0)], 'num_images'),
    ([dict(name='x', kind='clean', subset='random')], 'subset'),
    ([dict(name='x', kind='split')], "needs split"),
    ([dict(name='x', kind='split', split='test2')], 'split must be'),
    ([dict(name='x', kind='attack')], 'attack must be'),
    ([dict(name='x', kind='attack', attack=dict(eps=1))], 'no "type"'),
    ([dict(name='x', kind='attack', attack='pgd.yaml')], '.py attack config'),
    ([dict(name='x', kind='corruption', severities=[0, 6])], 'severities'),
    ([dict(name='x', kind='universal', iters=0)], 'iters'),
    ([dict(name='x', kind='granularity', attack=dict(layer='dec0'))], 'per layer'),
    ([dict(name='x', kind='granularity', generator=dict(config='g'))], 'checkpoint'),
    ([], 'no entries'),
    ('clean', 'must be a list'),
])
def test_malformed_suites_raise_config_error(entries, message):
    with pytest.raises(ConfigError, match=message):
        load_suite(dict(entries=entries))


def test_bad_suite_level_keys(tmp_path):
    with pytest.raises(ConfigError, match='unknown key'):
        load_suite(dict(entries=[dict(name='c', kind='clean')], entrys=[]))
    with pytest.raises(ConfigError, match='skip names unknown'):
        load_suite(dict(entries=[dict(name='c', kind='clean')], skip=['nope']))
    with pytest.raises(ConfigError, match='entry_options names unknown'):
        load_suite(dict(entries=[dict(name='c', kind='clean')],
                        entry_options=dict(nope=dict(num_images=3))))
    with pytest.raises(ConfigError, match='does not exist'):
        load_suite(str(tmp_path / 'missing.py'))
    broken = tmp_path / 'broken.py'
    broken.write_text('entries = [dict(name="x", kind="clean"\n')
    with pytest.raises(ConfigError, match='cannot read'):
        load_suite(str(broken))


def test_problems_only_found_when_running_do_not_fail_loading():
    """A missing attack file or unknown corruption fails its entry, not the suite."""
    suite = load_suite(dict(entries=[
        dict(name='a', kind='attack', attack='configs/_base_/attacks/nope.py'),
        dict(name='c', kind='corruption', corruptions=['gaussian_noise', 'fgo'])]))
    assert suite.names == ['a', 'c']
    with pytest.raises(ConfigError, match='does not exist'):
        resolve_attack(suite.entries[0])
    with pytest.raises(ConfigError, match='needs a generator'):
        resolve_attack(dict(attack=dict(type='mmgat.LatentAttack'), attack_options={}))


def test_config_hash_is_stable_and_follows_the_config(tmp_path):
    spec = dict(kind='attack', attack=dict(type='PGD', eps=8 / 255, levels=('a', 'b')))
    same = dict(attack=dict(levels=['a', 'b'], eps=8 / 255, type='PGD'), kind='attack')
    assert config_hash(spec) == config_hash(same)  # key order, tuple vs list
    assert config_hash(spec) != config_hash(dict(spec, num_images=10))
    # a checkpoint file's content stamp is part of the hash
    ckpt = tmp_path / 'g.pth'
    ckpt.write_bytes(b'1')
    with_ckpt = dict(attack=dict(generator=dict(config='c', checkpoint=str(ckpt))))
    before = config_hash(with_ckpt)
    assert config_hash(with_ckpt) == before
    ckpt.write_bytes(b'22')
    assert config_hash(with_ckpt) != before


def test_subset_indices():
    assert subset_indices(10, None) == list(range(10))
    assert subset_indices(10, 20) == list(range(10))
    assert subset_indices(10, 4) == [0, 2, 5, 7]
    assert subset_indices(300, 64)[:3] == [0, 4, 9] and len(subset_indices(300, 64)) == 64
    assert subset_indices(10, 3, 'first') == [0, 1, 2]


def test_dataloader_workers_follow_the_config_unless_the_suite_sets_them():
    from mmengine.config import Config

    from mmgat.evaluation.subset_loop import SubsetTester
    entries = [dict(name='clean', kind='clean')]
    assert load_suite(dict(entries=entries)).num_workers is None
    assert load_suite(dict(entries=entries, num_workers=3)).num_workers == 3
    with pytest.raises(ConfigError, match='num_workers must be an int >= 0'):
        load_suite(dict(entries=entries, num_workers=-1))
    cfg = Config(dict(test_dataloader=dict(num_workers=4, dataset={}),
                      ood_test_dataloader=dict(dataset={})))
    tester = SubsetTester(None, cfg, num_workers=None)
    assert tester.workers_for('val') == 4 and tester.workers_for('val_ood') == 0
    assert SubsetTester(None, cfg, num_workers=1).workers_for('val') == 1
    # the default suite keeps loading in the main process (CPU machines)
    assert load_suite(SUITE).num_workers == 0


def test_default_suite_and_granularity_name_the_generators_of_the_generator_files(
        monkeypatch):
    from mmgat.evaluation.cli import default_generators
    monkeypatch.chdir(REPO)
    generators = default_generators()  # read from configs/_base_/generators/
    assert generators['classification']['config'].endswith('style-ae_digitscenes-cls.py')
    assert load_suite(SUITE).generator == generators
