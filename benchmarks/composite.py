"""Accuracy and wall time of LOSO on the MEGC2019 composite, per model, mean ± std over seeds.

    .venv/bin/python benchmarks/composite.py --models linear,ststnet,offapexnet --seeds 0,1,2 [--workers 2]

Prints one row per model: UF1 / UAR / accuracy (all clips) and per-part UF1, pooled over the 68 folds
of each seed, and the wall time of all seeds together. Training uses each model's registered defaults.
"""

from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path

from rich.console import Console
from rich.table import Table

from microexp.data.megc2019 import MEGC2019
from microexp.evaluation.runner import Stopwatch, cross_validate, summarise

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "megc2019"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--models", default="linear,ststnet,offapexnet")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if not args.data_dir.is_dir():
        raise SystemExit(f"composite not found at {args.data_dir}; pass --data-dir")
    table = MEGC2019(args.data_dir).load()
    seeds = [int(s) for s in args.seeds.split(",")]
    result = Table(title=f"MEGC2019 composite, LOSO (68 folds), seeds {seeds}, {args.workers} workers")
    for column in ("model", "UF1", "UAR", "accuracy", "smic UF1", "casme2 UF1", "samm UF1", "wall s"):
        result.add_column(column, justify="left" if column == "model" else "right")

    def cell(stat: dict) -> str:
        return f"{stat['mean']:.4f} ± {stat['std']:.4f}"

    for model in args.models.split(","):
        clock = Stopwatch()
        predictions = cross_validate(table, model, seeds=seeds, workers=args.workers)
        s = summarise(predictions, table, model=model, wall_seconds=clock.seconds)
        parts = [cell(s["parts"][p]["uf1"]) for p in ("smic", "casme2", "samm")]
        result.add_row(model, cell(s["uf1"]), cell(s["uar"]), cell(s["accuracy"]), *parts, f"{s['wall_seconds']:.0f}")
    Console().print(result)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
