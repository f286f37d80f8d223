"""Train a GAT generator (mmgat.StyleAutoEncoder) and export its weights.

    python tools/train_generator.py configs/generators/style-ae_digitscenes.py
    python tools/train_generator.py configs/generators/style-ae_digitscenes-cls.py
    python tools/train_generator.py CONFIG --work-dir DIR --cfg-options train_cfg.max_iters=100
    python tools/train_generator.py CONFIG --resume     # continue from DIR/last_checkpoint

Training is tools/train.py's (same options and Runner). At the end the weights and
running latent / activation statistics are written to ``WORK_DIR/generator.pth``
(``state_dict`` and ``meta`` only), the file that GAT attacks load with
``mmgat.generators.load_generator``.
"""
import os.path as osp
import sys

from mmengine.dist import is_main_process
from mmengine.model import is_model_wrapper

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from train import build_runner, parse_args  # noqa: E402

from mmgat.utils.atomic_write import torch_save_atomic  # noqa: E402
from mmgat.utils.cli import exit_on_user_error  # noqa: E402

GENERATOR_FILE = 'generator.pth'


def export_generator(model, path: str, meta: dict) -> None:
    """Atomically write ``{'state_dict': ..., 'meta': ...}`` (tensors on the CPU)."""
    if is_model_wrapper(model):
        model = model.module
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch_save_atomic(dict(state_dict=state, meta=meta), path)  # fsync'ed, then renamed


@exit_on_user_error
def main(argv=None):
    args = parse_args(argv, description='Train a GAT generator with mmgat')
    runner = build_runner(args)
    runner.train()
    if is_main_process():
        path = osp.join(runner.work_dir, GENERATOR_FILE)
        meta = dict(config=osp.basename(args.config), iterations=int(runner.iter),
                    model_type=str(runner.cfg.model.get('type')))
        export_generator(runner.model, path, meta)
        print(f'generator written to {path}')
        return path


if __name__ == '__main__':
    main()
