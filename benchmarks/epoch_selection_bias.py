"""How much choosing the epoch on the test fold inflates a LOSO score on the MEGC2019 composite.

    .venv/bin/python benchmarks/epoch_selection_bias.py --model fr --seeds 0,1,2 --out runs/selection_fr

Each fold trains exactly as ``microexp evaluate`` trains it (the model's fixed schedule, the same seeds),
and after every epoch the model also predicts its test fold. Those predictions are only *looked at*:
training never sees them, so the last epoch reproduces ``microexp evaluate`` to the last digit. Four
ways to read one LOSO run are then scored on pooled predictions:

- ``fixed schedule``: the last epoch of every fold. The honest figure, and the one microexp reports.
- ``mean over epochs``: each clip's class probabilities averaged over all epochs of its fold (a snapshot
  ensemble fixed in advance, so also honest): does the epoch-to-epoch spread hide accuracy that needs no
  choice to recover?
- ``best epoch overall``: the one epoch (the same for all folds) whose pooled test UF1 is highest, as
  when a schedule is tuned by watching the LOSO score.
- ``best epoch per fold``: in each fold, the first epoch with the highest test accuracy, as in code that
  keeps the checkpoint "with the best test accuracy" of each subject; common in published MER code.

The last two pick with the test labels, so they measure the selection bias, never a result. Each seed's
curves are saved in ``--out`` as they finish; a rerun reads them back instead of training again.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from microexp.data.megc2019 import MEGC2019
from microexp.data.schema import SampleTable
from microexp.data.splitters import LeaveOneSubjectOut
from microexp.evaluation.executors import LocalExecutor
from microexp.evaluation.metrics import accuracy, confusion_matrix, uar, uf1
from microexp.evaluation.runner import Stopwatch, Task, make_tasks, train_task
from microexp.files import write_text
from microexp.inputs import SampleDataset, build_inputs
from microexp.models.registry import get_model_info
from microexp.training.config import TrainConfig
from microexp.training.engine import TrainedModel

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "megc2019"
READINGS = ("fixed schedule", "mean over epochs", "best epoch overall", "best epoch per fold")
HONEST = ("fixed schedule", "mean over epochs")


def epoch_curve(task: Task, table: SampleTable, on_epoch=None) -> np.ndarray:
    """Test-fold class probabilities after every epoch: (epochs, test clips, classes). ``table`` is built
    (it holds the cached inputs' paths)."""
    test_x = SampleDataset(table, get_model_info(task.model).inputs, task.fold.test).arrays()
    curve = []

    def look(_epoch: int, trained: TrainedModel) -> None:
        curve.append(trained.predict_proba(test_x))

    train_task(task, table, on_epoch, inspect_epoch=look)
    return np.stack(curve)


def seed_curves(table: SampleTable, model: str, seed: int, workers: int) -> np.ndarray:
    """(epochs, clips, classes) for one seed, rows in table order."""
    info = get_model_info(model)
    config = TrainConfig.from_dict(dict(info.training))
    if config.early_stopping_patience is not None:
        raise SystemExit(f"{model} stops early; this benchmark reads fixed schedules only")
    tasks = make_tasks(table, model, [seed], config)
    built = build_inputs(table, info.inputs)
    curves = np.zeros((config.epochs, len(table.samples), len(table.classes)))
    with Progress() as progress:
        bar = progress.add_task(f"{model} seed {seed}", total=len(tasks))
        for task, curve in LocalExecutor(workers).map(epoch_curve, tasks, (built,)):
            curves[:, task.fold.test] = curve
            progress.advance(bar)
    return curves


def score(labels: np.ndarray, predictions: np.ndarray, classes: int) -> dict[str, float]:
    matrix = confusion_matrix(labels, predictions, classes)
    return {"uf1": uf1(matrix), "uar": uar(matrix), "accuracy": accuracy(matrix)}


def readings(curves: np.ndarray, labels: np.ndarray, folds: list[np.ndarray]) -> dict[str, dict]:
    """The four readings of one seed's curves (see the module docstring), with the epochs they chose."""
    classes = curves.shape[-1]
    predicted = curves.argmax(axis=-1)  # (epochs, clips)
    pooled = [score(labels, epoch, classes)["uf1"] for epoch in predicted]
    overall = int(np.argmax(pooled))
    per_fold = predicted[-1].copy()
    chosen = []
    for rows in folds:
        fold_accuracy = (predicted[:, rows] == labels[rows]).mean(axis=1)
        best = int(np.argmax(fold_accuracy))  # the first epoch reaching the fold's best accuracy
        per_fold[rows] = predicted[best, rows]
        chosen.append(best + 1)
    return {
        "fixed schedule": {**score(labels, predicted[-1], classes), "epoch": len(curves)},
        "mean over epochs": {**score(labels, curves.mean(axis=0).argmax(axis=-1), classes), "epoch": "all"},
        "best epoch overall": {**score(labels, predicted[overall], classes), "epoch": overall + 1},
        "best epoch per fold": {**score(labels, per_fold, classes), "median epoch": float(np.median(chosen))},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--model", default="fr")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True, help="folder for each seed's curves and the summary")
    args = parser.parse_args()
    if not args.data_dir.is_dir():
        raise SystemExit(f"composite not found at {args.data_dir}; pass --data-dir")
    table = MEGC2019(args.data_dir).load()
    labels = table.labels
    folds = [fold.test for fold in LeaveOneSubjectOut().split(table)]
    args.out.mkdir(parents=True, exist_ok=True)
    clock = Stopwatch()
    per_seed, read_back = {}, 0
    for seed in (int(s) for s in args.seeds.split(",")):
        saved = args.out / f"{args.model}_seed{seed}.npz"
        if saved.exists():
            curves = np.load(saved)["curves"]
            read_back += 1
        else:
            curves = seed_curves(table, args.model, seed, args.workers)
            np.savez_compressed(saved, curves=curves, clip_id=table.samples["clip_id"].to_numpy())
        per_seed[seed] = readings(curves, labels, folds)

    result = Table(title=f"{args.model} on the MEGC2019 composite, LOSO, seeds {sorted(per_seed)}")
    for column in ("reading", "selects on the test fold", "UF1", "UAR", "accuracy", "epoch(s) chosen, per seed"):
        result.add_column(column, justify="left" if column in ("reading", "selects on the test fold") else "right")
    summary = {"model": args.model, "seeds": sorted(per_seed), "per_seed": per_seed, "wall_seconds": clock.seconds}
    for reading in READINGS:
        cells = []
        for metric in ("uf1", "uar", "accuracy"):
            values = [per_seed[s][reading][metric] for s in per_seed]
            std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
            summary.setdefault(reading, {})[metric] = {"mean": float(np.mean(values)), "std": std}
            cells.append(f"{np.mean(values):.4f} ± {std:.4f}")
        key = "median epoch" if reading == "best epoch per fold" else "epoch"
        values = [per_seed[s][reading][key] for s in per_seed]
        chosen = ", ".join(v if isinstance(v, str) else f"{v:g}" for v in values)
        result.add_row(reading, "no" if reading in HONEST else "yes", *cells, chosen)
    Console(width=120).print(result)  # a log file would otherwise get 80 columns and wrapped cells
    machine = platform.processor() or platform.machine()
    cached = f" ({read_back} of {len(per_seed)} seeds read back from {args.out}, not trained)" if read_back else ""
    print(f"wall time {clock.seconds:.1f} s{cached}; machine: {machine}, {os.cpu_count()} cores")
    write_text(args.out / f"{args.model}_summary.json", json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
