"""Clean baselines of the three tasks on DigitScenes -> one table.

    python tools/baselines.py --work-dir work_dirs/baselines   (what `make baselines` runs)

Generates DigitScenes when it is missing, trains the detection, segmentation and
classification baselines (a finished run is reused unless --force), evaluates each on
`val` and `val_ood`, prints one table and writes it to WORK_DIR/baselines.md and .json.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time

from mmgat.utils.runner_setup import final_checkpoint

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

# name, task, config, metric key, scale to 0-1
BASELINES = [
    ('faster-rcnn_r18', 'detection', 'configs/clean/faster-rcnn_r18_clean_digitscenes.py',
     'coco/bbox_mAP_50', 1.0),
    ('fpn_r18', 'segmentation',
     'configs/clean/fpn_r18_clean_digitscenes.py', 'mIoU', 0.01),
    ('resnet18', 'classification', 'configs/clean/resnet18_clean_digitscenes-cls.py',
     'accuracy/top1', 1.0),
]
METRIC_NAMES = {'coco/bbox_mAP_50': 'bbox mAP50', 'mIoU': 'mIoU',
                'accuracy/top1': 'top-1'}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/baselines')
    parser.add_argument('--data-root', default='data/digitscenes')
    parser.add_argument('--force', action='store_true', help='retrain finished baselines')
    parser.add_argument('--only', nargs='+', choices=[b[1] for b in BASELINES],
                        help='run only these tasks')
    return parser.parse_args()


def run(cmd, env):
    print('+', ' '.join(cmd), flush=True)
    subprocess.run(cmd, cwd=REPO, env=env, check=True)


def main():
    args = parse_args()
    env = dict(os.environ, MMGAT_DATA_ROOT=osp.abspath(args.data_root),
               PYTHONUNBUFFERED='1')
    py = sys.executable
    if not osp.isfile(osp.join(args.data_root, 'meta.json')):
        run([py, 'tools/make_digitscenes.py', '--out', args.data_root], env)

    rows = []
    for name, task, config, metric, scale in BASELINES:
        if args.only and task not in args.only:
            continue
        work_dir = osp.join(args.work_dir, name)
        checkpoint = final_checkpoint(work_dir)
        train_seconds = None
        timing_file = osp.join(work_dir, 'train_seconds.json')
        if checkpoint is None or args.force:
            start = time.time()
            run([py, 'tools/train.py', config, '--work-dir', work_dir], env)
            train_seconds = time.time() - start
            with open(timing_file, 'w') as f:
                json.dump({'train_seconds': train_seconds}, f)
            checkpoint = final_checkpoint(work_dir)
        elif osp.isfile(timing_file):
            with open(timing_file) as f:
                train_seconds = json.load(f)['train_seconds']
            print(f'reusing {checkpoint} (use --force to retrain)', flush=True)
        scores = {}
        for split in ('val', 'val_ood'):
            out = osp.join(work_dir, f'metrics_{split}.json')
            run([py, 'tools/test.py', config, checkpoint, '--split', split, '--work-dir',
                 work_dir, '--out', out], env)
            with open(out) as f:
                scores[split] = json.load(f)['metrics'][metric] * scale
        rows.append(dict(task=task, model=name, config=config, metric=METRIC_NAMES[metric],
                         val=scores['val'], val_ood=scores['val_ood'],
                         train_minutes=None if train_seconds is None else
                         train_seconds / 60))

    lines = ['| task | model | metric | val | val_ood | train (min) |',
             '|---|---|---|---|---|---|']
    for r in rows:
        minutes = '-' if r['train_minutes'] is None else f"{r['train_minutes']:.1f}"
        lines.append(f"| {r['task']} | {r['model']} | {r['metric']} | {r['val']:.3f} | "
                     f"{r['val_ood']:.3f} | {minutes} |")
    table = '\n'.join(lines)
    os.makedirs(args.work_dir, exist_ok=True)
    with open(osp.join(args.work_dir, 'baselines.md'), 'w') as f:
        f.write(table + '\n')
    with open(osp.join(args.work_dir, 'baselines.json'), 'w') as f:
        json.dump(rows, f, indent=2)
    print('\nClean baselines on DigitScenes (scores on a 0-1 scale)\n' + table)


if __name__ == '__main__':
    main()
