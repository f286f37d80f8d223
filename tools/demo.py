"""The main job: does generative adversarial training make a detector more robust?

    python tools/demo.py --work-dir work_dirs/demo          (what `make demo` runs)

1. generates DigitScenes when it is missing;
2. trains the GAT generator (configs/generators/style-ae_digitscenes.py) and measures
   its reconstruction PSNR on val / val_ood and the clean detector's mAP50 on
   reconstructed val images (do the labels stay valid?);
3. trains the Faster R-CNN R-18 detector clean and with GAT under the same schedule
   (`--methods` adds e.g. pgd);
4. runs the robustness suite on each (`--suite`, default the demo suite: every unseen
   attack and corruption family on a subset of val);
5. merges the runs with tools/report.py into WORK_DIR/report.md and prints it.

Every step is skipped when its output exists (a killed demo continues where it
stopped; the suite resumes per entry); `--force` redoes the training steps. Each step's
wall time goes to WORK_DIR/demo_times.json.
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
GENERATOR_CONFIG = 'configs/generators/style-ae_digitscenes.py'
GENERATOR_CHECKPOINT = 'work_dirs/style-ae_digitscenes/generator.pth'
METHODS = {
    'clean': 'configs/clean/faster-rcnn_r18_clean_digitscenes.py',
    'gat': 'configs/gat/faster-rcnn_r18_gat_digitscenes.py',
    'pgd': 'configs/pgd/faster-rcnn_r18_pgd_digitscenes.py',
    'shared': 'configs/shared/faster-rcnn_r18_shared_digitscenes.py',
    'localized': 'configs/localized/faster-rcnn_r18_localized_digitscenes.py',
    'universal': 'configs/universal/faster-rcnn_r18_universal_digitscenes.py',
}
RECONSTRUCTION_ATTACK = 'configs/_base_/attacks/gat-reconstruction.py'
METRIC = 'coco/bbox_mAP_50'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root', default='data/digitscenes')
    parser.add_argument('--methods', nargs='+', default=['clean', 'gat'],
                        choices=sorted(METHODS), help='training methods to compare')
    parser.add_argument('--suite', default='configs/robustness/unseen_digitscenes_demo.py',
                        help='robustness suite run on every model')
    parser.add_argument('--force', action='store_true',
                        help='retrain the generator and the detectors')
    return parser.parse_args(argv)


class Demo:

    def __init__(self, args):
        self.args = args
        self.env = dict(os.environ, MMGAT_DATA_ROOT=osp.abspath(args.data_root),
                        PYTHONUNBUFFERED='1')
        self.times_file = osp.join(args.work_dir, 'demo_times.json')
        self.times = {}
        if osp.isfile(self.times_file):
            with open(self.times_file) as f:
                self.times = json.load(f)

    def run(self, step: str, cmd: list) -> None:
        """Run a tool (its output, progress bars included, goes to the terminal)."""
        print(f'\n==> [{step}] ' + ' '.join(cmd), flush=True)
        start = time.time()
        subprocess.run([sys.executable] + cmd, cwd=REPO, env=self.env, check=True)
        self.times[step] = round(time.time() - start, 1)
        os.makedirs(self.args.work_dir, exist_ok=True)
        with open(self.times_file, 'w') as f:
            json.dump(self.times, f, indent=2)

    def metric(self, step: str, config: str, checkpoint: str, out: str, key: str,
               *extra) -> float:
        if not osp.isfile(out):
            self.run(step, ['tools/test.py', config, checkpoint, '--out', out,
                            '--work-dir', osp.dirname(out), *extra])
        with open(out) as f:
            return float(json.load(f)['metrics'][key])


def main(argv=None):
    args = parse_args(argv)
    demo = Demo(args)
    wd = args.work_dir
    start = time.time()
    if not osp.isfile(osp.join(args.data_root, 'meta.json')):
        demo.run('data', ['tools/make_digitscenes.py', '--out', args.data_root])

    # The generator, and whether it keeps the labels valid.
    # At the path the GAT configs, attack files and suites name by default.
    gen_ckpt = GENERATOR_CHECKPOINT
    if args.force or not osp.isfile(osp.join(REPO, gen_ckpt)):
        demo.run('generator', ['tools/train_generator.py', GENERATOR_CONFIG,
                               '--work-dir', osp.dirname(gen_ckpt)])
    quality = {split: demo.metric(f'psnr_{split}', GENERATOR_CONFIG, gen_ckpt,
                                  osp.join(wd, 'generator', f'psnr_{split}.json'), 'psnr',
                                  '--split', split)
               for split in ('val', 'val_ood')}

    # The detectors.
    runs = {}
    for method in args.methods:
        config, work_dir = METHODS[method], osp.join(wd, method)
        checkpoint = final_checkpoint(work_dir)
        if args.force or checkpoint is None:
            demo.run(f'train_{method}', ['tools/train.py', config, '--work-dir', work_dir])
            checkpoint = final_checkpoint(work_dir)
        runs[method] = (config, checkpoint)

    if 'clean' in runs:
        config, checkpoint = runs['clean']
        real = demo.metric('det_real', config, checkpoint,
                           osp.join(wd, 'generator', 'det_real.json'), METRIC)
        recon = demo.metric(
            'det_reconstructed', config, checkpoint,
            osp.join(wd, 'generator', 'det_reconstructed.json'), METRIC, '--attack',
            RECONSTRUCTION_ATTACK)
        quality.update(det_map50_real=real, det_map50_reconstructed=recon)
    with open(osp.join(wd, 'generator', 'quality.json'), 'w') as f:
        json.dump(quality, f, indent=2)

    # The robustness suite on each model, then one report.
    suite_dirs = []
    for method, (config, checkpoint) in runs.items():
        suite_dir = osp.join(wd, method, 'robustness')
        demo.run(f'suite_{method}', ['tools/test.py', config, checkpoint, '--robustness',
                                     args.suite, '--work-dir', suite_dir])
        suite_dirs.append(suite_dir)
    report = osp.join(wd, 'report.md')
    demo.run('report', ['tools/report.py', *suite_dirs, '--names', *runs, '--out', report])

    with open(report) as f:
        text = f.read()
    lines = ['', '## Generator', '',
             f"Reconstruction PSNR: val {quality['val']:.2f} dB, val_ood "
             f"{quality['val_ood']:.2f} dB."]
    if 'det_map50_real' in quality:
        real, recon = quality['det_map50_real'], quality['det_map50_reconstructed']
        lines.append(f'Clean detector mAP50 on real val {real:.3f}, on reconstructed val '
                     f'{recon:.3f} ({100 * (recon - real) / max(real, 1e-9):+.1f}%).')
    lines += ['', 'Step times (s): ' + ', '.join(f'{k} {v}' for k, v in demo.times.items())]
    with open(report, 'w') as f:
        f.write(text.rstrip('\n') + '\n' + '\n'.join(lines) + '\n')
    print('\n' + text.rstrip('\n') + '\n' + '\n'.join(lines))
    print(f'\nreport: {report} (this run: {(time.time() - start) / 60:.1f} min)')


if __name__ == '__main__':
    main()
