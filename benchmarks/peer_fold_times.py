"""What one composite LOSO seed of a model costs, estimated from a few folds: parameters, seconds per fold.

    nice -n 10 env OMP_NUM_THREADS=1 .venv/bin/python benchmarks/peer_fold_times.py --models htnet_cpu,rcn_cpu

Each timed fold trains exactly as ``microexp evaluate`` trains it (the model's registered schedule, seed 0)
on one process; ``--folds`` folds spread evenly over the 68 (so every part of the composite is among them),
after the inputs are built and cached. Nothing is scored: the estimate is the mean fold time times the fold
count, the figure to decide whether a schedule fits a CPU budget before a whole run is started.
"""

from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from microexp.data.megc2019 import MEGC2019
from microexp.evaluation.runner import Stopwatch, make_tasks, train_task
from microexp.inputs import build_inputs
from microexp.models.registry import create_model, get_model_info
from microexp.training.config import TrainConfig

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "megc2019"


def parameter_count(model: str, classes: int) -> int:
    return sum(p.numel() for p in create_model(model, num_classes=classes).parameters())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--models", required=True, help="comma-separated registered models")
    parser.add_argument("--folds", type=int, default=3, help="folds timed per model, spread over the 68")
    args = parser.parse_args()
    if not args.data_dir.is_dir():
        raise SystemExit(f"composite not found at {args.data_dir}; pass --data-dir")
    table = MEGC2019(args.data_dir).load()
    result = Table(title=f"seconds per LOSO fold on the composite (seed 0, {args.folds} folds timed)")
    for column in ("model", "parameters", "epochs", "folds timed", "s per fold", "estimated s per seed"):
        result.add_column(column, justify="left" if column == "model" else "right")
    for model in args.models.split(","):
        info = get_model_info(model)
        config = TrainConfig.from_dict(dict(info.training))
        tasks = make_tasks(table, model, [0], config)
        built = build_inputs(table, info.inputs)
        chosen = [tasks[i] for i in np.linspace(0, len(tasks) - 1, args.folds).round().astype(int)]
        seconds = []
        for task in chosen:
            clock = Stopwatch()
            train_task(task, built)
            seconds.append(clock.seconds)
            print(f"{task.name}: {seconds[-1]:.1f} s", flush=True)
        per_fold = float(np.mean(seconds))
        result.add_row(
            model,
            f"{parameter_count(model, len(table.classes)):,}",
            str(config.epochs),
            ", ".join(task.fold.name for task in chosen),
            f"{per_fold:.1f}",
            f"{per_fold * len(tasks):.0f}",
        )
    Console(width=140).print(result)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
