"""Would averaging models help? Score the mean class probabilities of finished runs.

    .venv/bin/python benchmarks/pooled_ensemble.py runs/fr runs/fr_no_proposal runs/ststnet

Every seed of every run folder given (``microexp evaluate --out``) is one member; each clip's class
probabilities are averaged over the members and the class with the highest mean is the prediction. All
members must hold the same clips (the same database and protocol). Members are trained on the same
training folds as any single run, and nothing is weighted or picked by test scores, so the ensemble's
figure is as honest as its members'. Prints each member's UF1 / UAR, then the ensemble's, per part.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from microexp.evaluation.metrics import score_by_part


def members(run_dirs: list[Path]) -> list[tuple[str, pd.DataFrame]]:
    """(name, predictions of one seed, rows sorted by clip) for every seed of every run."""
    found = []
    for run_dir in run_dirs:
        path = run_dir / "predictions.csv"
        if not path.exists():
            raise SystemExit(f"{path} not found: is {run_dir} a finished `microexp evaluate` run folder?")
        predictions = pd.read_csv(path)
        for seed, rows in predictions.groupby("seed"):
            found.append((f"{run_dir.name} seed {seed}", rows.sort_values("clip_id").reset_index(drop=True)))
    clips = found[0][1]["clip_id"]
    for name, rows in found[1:]:
        if not rows["clip_id"].equals(clips):
            raise SystemExit(f"{name} holds other clips than {found[0][0]}; ensemble runs of one database only")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, nargs="+", help="run folders written by microexp evaluate")
    args = parser.parse_args()
    found = members(args.runs)
    reference = found[0][1]
    probability_columns = [c for c in reference.columns if c.startswith("p_")]
    classes = len(probability_columns)
    parts = sorted(reference["part"].unique())

    def row(name: str, prediction: np.ndarray) -> list[str]:
        scores = score_by_part(reference["label"], prediction, reference["part"], classes)
        shown = ["all", *parts] if len(parts) > 1 else ["all"]
        return [name, *(f"{scores[p].uf1:.4f} / {scores[p].uar:.4f}" for p in shown)]

    table = Table(title=f"Mean class probabilities of {len(found)} members")
    table.add_column("member")
    for part in ["all", *parts] if len(parts) > 1 else ["all"]:
        table.add_column(f"{part} UF1 / UAR", justify="right")
    for name, rows in found:
        table.add_row(*row(name, rows[probability_columns].to_numpy().argmax(axis=1)))
    mean = np.mean([rows[probability_columns].to_numpy() for _, rows in found], axis=0)
    table.add_row(*row(f"ensemble of {len(found)}", mean.argmax(axis=1)), style="bold")
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
