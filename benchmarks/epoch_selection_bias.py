"""How much choosing the epoch on the test fold inflates a LOSO score on the MEGC2019 composite.

    .venv/bin/python benchmarks/epoch_selection_bias.py --model fr --seeds 0,1,2 --out runs/selection_fr

The model is evaluated exactly as ``microexp evaluate`` does it, into the run folder ``--out``, keeping
each fold's test predictions after every epoch (only looked at: training never sees them, so the last
epoch reproduces ``microexp evaluate`` to the last digit). The four readings of those curves, honest and
selected, are :mod:`microexp.evaluation.selection`'s, the same as ``microexp run`` of a leaderboard shows.
An interrupted run resumes from the folds it finished.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from microexp.evaluation.executors import LocalExecutor
from microexp.evaluation.report import read_predictions
from microexp.evaluation.runner import Stopwatch
from microexp.evaluation.selection import HONEST, READINGS, fold_positions, readings, seed_curves
from microexp.evaluation.study import evaluate, make_run_spec
from microexp.files import write_text
from microexp.models.registry import get_model_info

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "megc2019"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--model", default="fr")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True, help="the run folder; it also gets the summary")
    args = parser.parse_args()
    if not args.data_dir.is_dir():
        raise SystemExit(f"composite not found at {args.data_dir}; pass --data-dir")
    if get_model_info(args.model).training.get("early_stopping_patience") is not None:
        raise SystemExit(f"{args.model} stops early; this benchmark reads fixed schedules only")
    seeds = [int(s) for s in args.seeds.split(",")]
    spec = make_run_spec(dataset="megc2019", data_dir=args.data_dir, model=args.model, seeds=seeds)
    clock = Stopwatch()
    _, read_back = evaluate(
        spec, args.out, executor=LocalExecutor(args.workers), workers=args.workers, epoch_curves=True
    )
    predictions = read_predictions(args.out / "predictions.csv")
    per_seed = {}
    for seed, rows in predictions.groupby("seed"):
        curves, _ = seed_curves(args.out, args.model, rows)
        per_seed[int(seed)] = readings(curves, rows["label"].to_numpy(), fold_positions(rows))

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
    cached = f" (the finished run in {args.out} read back, not trained)" if read_back else ""
    print(f"wall time {clock.seconds:.1f} s{cached}; machine: {machine}, {os.cpu_count()} cores")
    write_text(args.out / "selection.json", json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
