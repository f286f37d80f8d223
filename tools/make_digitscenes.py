"""Generate the DigitScenes synthetic dataset (detection, segmentation, classification).

Default layout (mmgat's own DigitScenes configs):

    python tools/make_digitscenes.py --out data/digitscenes
    python tools/make_digitscenes.py --out /tmp/ds --size 96 --num-train 200 --seed 1

The same scenes in the layout of a real dataset, read unchanged by mmdet's CocoDataset /
VOCDataset and mmseg's CityscapesDataset / ADE20KDataset (digits 0-9 become the first ten
classes of the dataset; --out is the directory the config's data_root points at and
defaults to the upstream one, as below):

    python tools/make_digitscenes.py --layout coco --out data/coco
    python tools/make_digitscenes.py --layout voc --out data/VOCdevkit
    python tools/make_digitscenes.py --layout cityscapes --out data/cityscapes
    python tools/make_digitscenes.py --layout ade20k --out data/ade/ADEChallengeData2016
    python tools/make_digitscenes.py --layout coco --out /tmp/coco --size 64 --num-train 4 \\
        --num-val 2 --num-val-ood 0 --no-progress

With --layout, scenes are --size x --size (default 256) or, for cityscapes, 256 x 512
(--size S gives S x 2S); --height / --width set either side explicitly. The val_ood split
(--num-val-ood, default --num-val) becomes an extra split in the dataset's own naming
(COCO val_ood2017, VOC2007 test_ood.txt, Cityscapes val_ood, ADE20K validation_ood);
0 writes none. See mmgat/datasets/layouts/<layout>.py for each layout's files and labels.

The output is byte-identical for the same arguments; each image depends only on
(seed, split, index), so changing --num-train leaves val and val_ood unchanged. An existing
DigitScenes folder at --out (any layout) is replaced atomically; a folder that is not one
is refused. Bad arguments print one line and exit with status 2.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mmgat.datasets.digitscenes_writer import make_digitscenes  # noqa: E402
from mmgat.datasets.layouts import LAYOUTS, write_layout  # noqa: E402


class _OneLineParser(argparse.ArgumentParser):
    """Argument errors as one line (no usage block), exit status 2."""

    def error(self, message):
        self.exit(2, f'error: {message} (see --help)\n')


def parse_args(argv=None):
    p = _OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--layout', default=None, metavar='|'.join(LAYOUTS),
                   help='write a real dataset\'s layout instead of the DigitScenes one')
    p.add_argument('--out', default=None,
                   help='output folder (default: data/digitscenes; with --layout, the '
                        'upstream data_root, e.g. data/coco)')
    p.add_argument('--size', type=int, default=None,
                   help='scene side in pixels (default 128; 256 with --layout)')
    p.add_argument('--height', type=int, default=None, help='scene height (--layout only)')
    p.add_argument('--width', type=int, default=None, help='scene width (--layout only)')
    p.add_argument('--num-train', type=int, default=2000)
    p.add_argument('--num-val', type=int, default=300)
    p.add_argument('--num-val-ood', type=int, default=None, help='default: --num-val')
    p.add_argument('--cls-size', type=int, default=32,
                   help='classification image side (default layout only)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--workers', type=int, default=min(4, os.cpu_count() or 1),
                   help='render processes (the output does not depend on it)')
    p.add_argument('--no-progress', action='store_true', help='no progress bar')
    return p.parse_args(argv)


def _run(args) -> str:
    if args.layout is None:
        if args.height is not None or args.width is not None:
            raise ValueError('--height / --width need --layout (DigitScenes scenes are square)')
        out = make_digitscenes(out=args.out or 'data/digitscenes',
                               size=128 if args.size is None else args.size,
                               num_train=args.num_train, num_val=args.num_val,
                               num_val_ood=args.num_val_ood, cls_size=args.cls_size,
                               seed=args.seed, workers=args.workers,
                               progress=not args.no_progress)
        return f'DigitScenes written to {out}'
    if args.layout not in LAYOUTS:
        raise ValueError(f"unknown --layout {args.layout!r}; expected one of "
                         f"{', '.join(LAYOUTS)}")
    out = write_layout(args.layout, args.out or LAYOUTS[args.layout].default_root,
                       size=args.size, height=args.height, width=args.width,
                       num_train=args.num_train, num_val=args.num_val,
                       num_val_ood=args.num_val_ood, seed=args.seed, workers=args.workers,
                       progress=not args.no_progress)
    return f'DigitScenes in the {args.layout} layout written to {out}'


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    try:
        what = _run(args)
    except (FileExistsError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    n_ood = args.num_val if args.num_val_ood is None else args.num_val_ood
    extra = ' and as many cls images' if args.layout is None else ''
    print(f'{what}: {args.num_train}/{args.num_val}/{n_ood} train/val/val_ood scenes{extra}, '
          f'in {time.perf_counter() - start:.1f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
