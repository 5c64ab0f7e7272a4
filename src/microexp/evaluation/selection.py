"""What choosing the epoch on the test fold is worth: readings of one LOSO run's epoch curves.

A run made with epoch curves (``cross_validate(..., epoch_curves=True)``) kept, for every task, the test
fold's class probabilities after each epoch. Training never saw them, so the last epoch is the run's own
honest prediction. Four ways to read the same curves, scored on predictions pooled over folds:

- ``fixed schedule``: the last epoch of every fold. The honest figure, and the one microexp reports.
- ``mean over epochs``: each clip's class probabilities averaged over all epochs of its fold (a snapshot
  ensemble fixed in advance, so also honest).
- ``best epoch overall``: the one epoch (the same for all folds) whose pooled test UF1 is highest, as when
  a schedule is tuned by watching the LOSO score.
- ``best epoch per fold``: in each fold, the first epoch with the highest test accuracy, as in code that
  keeps each subject's checkpoint "with the best test accuracy"; common in published MER code.

The last two pick with the test labels: they measure the selection bias, never a result.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from microexp.errors import DataError
from microexp.evaluation.metrics import accuracy, confusion_matrix, uar, uf1
from microexp.evaluation.report import curve_path, read_epoch_curve

READINGS = ("fixed schedule", "mean over epochs", "best epoch overall", "best epoch per fold")
HONEST = ("fixed schedule", "mean over epochs")
SELECTED = ("best epoch overall", "best epoch per fold")


def score(labels: np.ndarray, predictions: np.ndarray, classes: int) -> dict[str, float]:
    matrix = confusion_matrix(labels, predictions, classes)
    return {"uf1": uf1(matrix), "uar": uar(matrix), "accuracy": accuracy(matrix)}


def readings(curves: np.ndarray, labels: np.ndarray, folds: list[np.ndarray]) -> dict[str, dict]:
    """The four readings of one seed's curves (epochs, clips, classes), with the epochs they chose.
    ``folds``: the clip positions of each fold."""
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


def seed_curves(run_dir: Path, model: str, rows: pd.DataFrame) -> tuple[np.ndarray | None, float]:
    """One seed's epoch curves (epochs, clips, classes) in the order of ``rows`` (that seed's predictions,
    matched by clip id), and the seconds its tasks took together. No curves (None) for a model without
    epochs, or when the folds trained different numbers of epochs (early stopping): no one epoch to pick."""
    seed = int(rows["seed"].iloc[0])
    position = {clip: i for i, clip in enumerate(rows["clip_id"])}
    parts, seconds = [], 0.0
    for fold in dict.fromkeys(rows["fold"]):
        path = curve_path(run_dir, model, seed, fold)
        curve, clip_ids, task_seconds = read_epoch_curve(path)
        unknown = sorted(set(clip_ids) - set(position))
        if unknown:
            raise DataError(f"{path} holds clips the run's predictions do not: {unknown[:3]}; rerun with --overwrite")
        parts.append((curve, [position[clip] for clip in clip_ids]))
        seconds += task_seconds
    epochs = {curve.shape[0] for curve, _ in parts}
    if len(epochs) != 1 or epochs == {0}:
        return None, seconds
    classes = parts[0][0].shape[-1]
    curves = np.zeros((epochs.pop(), len(rows), classes))
    for curve, where in parts:
        curves[:, where] = curve
    return curves, seconds


def fold_positions(rows: pd.DataFrame) -> list[np.ndarray]:
    """The positions in ``rows`` of each fold's clips."""
    folds = rows["fold"].to_numpy()
    return [np.flatnonzero(folds == fold) for fold in dict.fromkeys(folds)]
