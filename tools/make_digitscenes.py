"""Generate the DigitScenes synthetic dataset (detection, segmentation, classification).

    python tools/make_digitscenes.py --out data/digitscenes
    python tools/make_digitscenes.py --out /tmp/ds --size 96 --num-train 200 --seed 1

The output is byte-identical for the same arguments; each image depends only on
(seed, split, index), so changing --num-train leaves val and val_ood unchanged. An existing
DigitScenes folder at --out is replaced atomically (a folder that is not one is refused).
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mmgat.datasets.digitscenes_writer import make_digitscenes  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', default='data/digitscenes', help='output folder')
    p.add_argument('--size', type=int, default=128, help='scene side in pixels')
    p.add_argument('--num-train', type=int, default=2000)
    p.add_argument('--num-val', type=int, default=300)
    p.add_argument('--num-val-ood', type=int, default=None, help='default: --num-val')
    p.add_argument('--cls-size', type=int, default=32, help='classification image side')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--workers', type=int, default=min(4, os.cpu_count() or 1),
                   help='render processes (the output does not depend on it)')
    p.add_argument('--no-progress', action='store_true', help='no progress bar')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    try:
        out = make_digitscenes(out=args.out, size=args.size, num_train=args.num_train,
                               num_val=args.num_val, num_val_ood=args.num_val_ood,
                               cls_size=args.cls_size, seed=args.seed, workers=args.workers,
                               progress=not args.no_progress)
    except (FileExistsError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    n_ood = args.num_val if args.num_val_ood is None else args.num_val_ood
    print(f'DigitScenes written to {out}: {args.num_train}/{args.num_val}/{n_ood} '
          f'train/val/val_ood scenes and as many cls images, '
          f'in {time.perf_counter() - start:.1f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
