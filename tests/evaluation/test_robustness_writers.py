"""robustness.json (atomic) / robustness.md writers and the PNG plots."""
import json
import os

import pytest

from mmgat.evaluation import writers
from mmgat.evaluation.aggregation import summarize
from mmgat.evaluation.plots import (plot_attacks, plot_granularity, plot_severities,
                                    plot_summary)
from mmgat.evaluation.writers import (read_json, robustness_markdown, write_json_atomic,
                                      write_text_atomic)
from robustness_records import fabricated_record


def full_record():
    record = fabricated_record()
    record.update(summarize(record))
    return record


def test_write_json_atomic_replaces_whole_files(tmp_path, monkeypatch):
    path = tmp_path / 'sub' / 'robustness.json'
    write_json_atomic(str(path), dict(a=1, b=(1, 2), c=dict(d=None)))
    assert json.loads(path.read_text()) == dict(a=1, b=[1, 2], c=dict(d=None))
    write_json_atomic(str(path), dict(a=2))
    assert read_json(str(path)) == dict(a=2)
    assert os.listdir(path.parent) == ['robustness.json']  # no temporary file left
    assert oct(path.stat().st_mode & 0o777) != oct(0o600)  # readable like other outputs

    class Unserialisable:
        pass

    # an interrupted dump leaves the previous file intact and no temporary file
    def interrupted(data, f, **kwargs):
        f.write('{"half": ')
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(writers.json, 'dump', interrupted)
        with pytest.raises(KeyboardInterrupt):
            write_json_atomic(str(path), dict(x=1))
    assert read_json(str(path)) == dict(a=2)
    assert os.listdir(path.parent) == ['robustness.json']
    # objects that JSON cannot hold are written as their repr (e.g. a class in a config)
    write_json_atomic(str(path), dict(type=Unserialisable))
    assert 'Unserialisable' in read_json(str(path))['type']
    assert read_json(str(tmp_path / 'missing.json')) is None
    write_text_atomic(str(tmp_path / 'x.md'), 'hello\n')
    assert (tmp_path / 'x.md').read_text() == 'hello\n'


def test_markdown_report_of_a_run():
    text = robustness_markdown(full_record())
    assert text.startswith('# Robustness of resnet18_pgd')
    assert ('| entry | kind | top-1 | interval | vs clean | images | seconds | status |'
            in text)
    assert '| pgd (seen) | attack | 0.200 | - | -0.550 | 10 | 1.0 | done |' in text
    assert '| recolor | attack | 0.500 | - | -0.250 | 10 | 1.0 | done |' in text
    assert '| broken | attack | - | - |  | - | 1.0 | failed |' in text
    assert '| granularity | granularity | 0.400 |' in text
    assert 'unseen mean 0.450 (2 attacks)' in text
    assert 'mPC 0.500' in text and 'rPC 0.625' in text
    # the corruption table: clean column, severities, the benchmark mean row
    assert '| gaussian_noise | 0.800 | 0.600 | 0.400 | - | - | - | 0.500 |' in text
    assert '| spatter (holdout) | 0.800 | 0.700 | - | - | - | - | 0.700 |' in text
    assert '| **benchmark mean** | 0.800 | 0.600 | 0.400 | - | - | - | 0.500 |' in text
    assert '## Granularity profile: granularity' in text
    assert '| layer0 | 0.300 | - | done |' in text
    # a record without outcomes (an older version) says why it has no intervals
    assert 'no intervals: the run kept no per-image outcomes' in text
    assert '## Failed' in text and '- broken: boom' in text


def test_plots_are_written(tmp_path):
    record = full_record()
    for draw, name in ((plot_attacks, 'a.png'), (plot_severities, 's.png'),
                       (plot_granularity, 'g.png')):
        path = draw(record, str(tmp_path / name))
        assert path and (tmp_path / name).read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    # nothing to draw: no file
    empty = dict(entries={'clean': dict(kind='clean', status='done', score=0.5)},
                 scores={'clean': 0.5})
    assert plot_severities(empty, str(tmp_path / 'none.png')) is None
    assert plot_granularity(empty, str(tmp_path / 'none.png')) is None
    assert not (tmp_path / 'none.png').exists()
    rows = [dict(task='detection', method='clean', clean=0.7, unseen_mean=0.3, mPC=0.5),
            dict(task='classification', method='gat', clean=0.9, unseen_mean=None,
                 mPC=0.6)]
    assert plot_summary(rows, str(tmp_path / 'summary.png'))
    assert (tmp_path / 'summary.png').stat().st_size > 1000
