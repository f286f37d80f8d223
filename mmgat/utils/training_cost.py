"""What a training run cost: median seconds per iteration from its mmengine log, and the
machine it ran on (costs compare only between runs of one machine)."""
import json
import os
import os.path as osp
import platform
import statistics

MACHINE_FILE = 'machine.json'
#: A suite record's companion: what training the evaluated model cost (tools/report.py's
#: cost table reads it).
TRAINING_FILE = 'training.json'


def this_machine() -> dict:
    """What tells machines apart: this boot's id (a fresh machine boots anew), the CPU
    count and model."""
    boot = '/proc/sys/kernel/random/boot_id'
    with open(boot) if osp.isfile(boot) else open(os.devnull) as f:
        boot_id = f.read().strip() or None
    return dict(boot_id=boot_id, cpus=os.cpu_count(), processor=platform.processor())


def record_machine(work_dir: str) -> None:
    """Note in a training's work dir the machine that trained it (costs compare only
    between runs of one machine)."""
    with open(osp.join(work_dir, MACHINE_FILE), 'w') as f:
        json.dump(this_machine(), f, indent=2)


def training_cost(work_dir: str) -> dict:
    """Median seconds per iteration (mmengine's logged ``time``) of a training run, and
    the machine that trained it (None: not recorded)."""
    logs = sorted(
        osp.join(work_dir, d, 'vis_data', 'scalars.json') for d in os.listdir(work_dir)
        if osp.isfile(osp.join(work_dir, d, 'vis_data', 'scalars.json')))
    times, iters = [], 0
    for log in logs:
        with open(log) as f:
            for line in f:
                if not line.strip():
                    continue
                row = json.loads(line)
                if 'time' in row and 'loss' in row:
                    times.append(float(row['time']))
                    iters = max(iters, int(row.get('iter', 0)))
    machine = None
    if osp.isfile(osp.join(work_dir, MACHINE_FILE)):
        with open(osp.join(work_dir, MACHINE_FILE)) as f:
            machine = json.load(f)
    return dict(seconds_per_iter=statistics.median(times) if times else None,
                iterations=iters, logged_iterations=len(times), machine=machine)


def write_training_record(folder: str, work_dir: str, **fields) -> dict:
    """Write ``folder/training.json``: the cost of the training in ``work_dir`` and
    ``fields`` (method, seed, config and what the writing tool adds); return it."""
    record = dict(training_cost(work_dir), **fields)
    with open(osp.join(folder, TRAINING_FILE), 'w') as f:
        json.dump(record, f, indent=2)
    return record
