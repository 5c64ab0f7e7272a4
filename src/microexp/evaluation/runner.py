"""Cross-validated evaluation over folds x seeds, with pooled scoring. Leave-one-subject-out by default;
any splitter of :mod:`microexp.data.splitters` (subject k-fold for CK+, the official FER-2013 split) fits.

A task is one fold of one seed. Tasks are independent: each trains from scratch on its training
rows, with a seed derived from (seed, fold name), so the results do not depend on the order or the
process tasks run in. Where tasks run is an executor's business (:mod:`microexp.evaluation.executors`);
with a run folder, every finished task is saved as it arrives and a rerun only does what is missing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from microexp.data.schema import SampleTable
from microexp.data.splitters import Fold, LeaveOneSubjectOut, Splitter
from microexp.errors import DataError
from microexp.evaluation.executors import Executor, LocalExecutor
from microexp.evaluation.metrics import score_by_part
from microexp.evaluation.report import (
    curve_path,
    read_predictions,
    task_path,
    write_epoch_curve,
    write_task_predictions,
)
from microexp.inputs.build import build_inputs, input_column
from microexp.inputs.dataset import SampleDataset, pack_inputs
from microexp.inputs.registry import Progress
from microexp.inputs.spec import InputSettings
from microexp.models.registry import get_model_info
from microexp.training.config import TrainConfig
from microexp.training.engine import EpochCallback, EpochInspector, TrainedModel, train_model

logger = logging.getLogger(__name__)

FoldCallback = Callable[[int, int, str], None]  # (tasks done, tasks total, finished task's name)


# Training stages: (domains whose training rows the stage trains on, its config), in order; each starts
# from the weights the one before left. Empty: one stage, every training row, the task's config.
Stages = tuple[tuple[tuple[str, ...], TrainConfig], ...]


@dataclass(frozen=True)
class Task:
    model: str
    seed: int
    fold: Fold
    config: TrainConfig
    model_options: Mapping[str, Any] = field(default_factory=dict)
    stages: Stages = ()

    @property
    def name(self) -> str:
        return f"{self.model}/seed{self.seed}/{self.fold.name}"


def train_task(
    task: Task,
    table: SampleTable,
    on_epoch: EpochCallback | None = None,
    inspect_epoch: EpochInspector | None = None,
) -> TrainedModel:
    """The model a task trains on its fold's training rows of ``table`` (built: see
    :func:`~microexp.inputs.build.build_inputs`). Deterministic: the same task gives the same model again,
    which is how a run's fold is re-created later (``microexp explain``)."""
    from microexp.training.seeding import fold_seed

    return train_on_rows(
        task.model,
        table,
        task.fold.train,
        seed=fold_seed(task.seed, task.fold.name),
        config=task.config,
        model_options=task.model_options,
        stages=task.stages,
        validation_rows=task.fold.validation,
        on_epoch=on_epoch,
        inspect_epoch=inspect_epoch,
    )


def train_on_rows(
    model: str,
    table: SampleTable,
    rows: np.ndarray,
    *,
    seed: int,
    config: TrainConfig,
    model_options: Mapping[str, Any] | None = None,
    stages: Stages = (),
    validation_rows: np.ndarray | None = None,
    on_epoch: EpochCallback | None = None,
    inspect_epoch: EpochInspector | None = None,
) -> TrainedModel:
    """Train ``model`` on the rows ``rows`` of a built table, stage after stage."""
    specs = get_model_info(model).inputs
    validation = None if validation_rows is None else SampleDataset(table, specs, validation_rows)
    trained = None
    domains = (table.samples["domain"] if "domain" in table.samples else table.samples["dataset"]).to_numpy()
    for domains_of_stage, stage_config in stages or ((None, config),):
        chosen = rows if domains_of_stage is None else rows[np.isin(domains[rows], list(domains_of_stage))]
        if len(chosen) == 0:
            raise DataError(f"{table.name}: no training rows of {list(domains_of_stage)} in this fold")
        trained = train_model(
            model,
            SampleDataset(table, specs, chosen),
            num_classes=len(table.classes),
            seed=seed,
            config=stage_config,
            model_options=model_options,
            on_epoch=on_epoch,
            validation=validation,
            inspect_epoch=inspect_epoch,
            initial=trained,
        )
    return trained


@dataclass(frozen=True)
class WatchedTask:
    """A task's predictions with what its training looked like from the test fold's side."""

    predictions: pd.DataFrame
    # (epochs, test clips, classes): the test clips' class probabilities after every epoch, only looked at
    # (training never sees them); no epochs for a model fitted in one go (scikit-learn)
    curve: np.ndarray
    seconds: float  # training and predicting, in the worker that ran it


def run_task(task: Task, table: SampleTable, on_epoch: EpochCallback | None = None) -> pd.DataFrame:
    """Train on the fold's training rows, predict its test rows; one row of predictions per test clip.
    Runs in a worker: it receives the table of cached input paths and reads only the samples it uses."""
    return _run(task, table, on_epoch, watch_epochs=False).predictions


def run_task_watching_epochs(task: Task, table: SampleTable, on_epoch: EpochCallback | None = None) -> WatchedTask:
    """:func:`run_task`, also predicting the test fold after every epoch. Prediction draws no random numbers,
    so the training and the final predictions are those of :func:`run_task` to the last digit; the curve
    serves bias measurements (:mod:`microexp.evaluation.selection`), never a result."""
    return _run(task, table, on_epoch, watch_epochs=True)


def _run(task: Task, table: SampleTable, on_epoch: EpochCallback | None, *, watch_epochs: bool) -> WatchedTask:
    clock = Stopwatch()
    samples = table.samples
    test_x = SampleDataset(table, get_model_info(task.model).inputs, task.fold.test).arrays()
    curve = []

    def look(_epoch: int, trained: TrainedModel) -> None:
        curve.append(trained.predict_proba(test_x))

    trained = train_task(task, table, on_epoch, inspect_epoch=look if watch_epochs else None)
    proba = trained.predict_proba(test_x)
    test = samples.iloc[task.fold.test]
    frame = pd.DataFrame(
        {
            "seed": task.seed,
            "fold": task.fold.name,
            "subject": test["subject"].to_numpy(),
            "clip_id": test["clip_id"].to_numpy(),
            "part": test["dataset"].to_numpy(),
            "label": test["label"].to_numpy(),
            "prediction": proba.argmax(axis=1),
        }
    )
    for index, name in enumerate(table.classes):
        frame[f"p_{name}"] = proba[:, index]
    watched = np.stack(curve) if curve else np.zeros((0, *proba.shape))
    return WatchedTask(frame, watched, clock.seconds)


def make_tasks(
    table: SampleTable,
    model: str,
    seeds: Sequence[int],
    config: TrainConfig,
    model_options: Mapping[str, Any] | None = None,
    splitter: Splitter | None = None,
    stages: Stages = (),
) -> list[Task]:
    folds = list((splitter or LeaveOneSubjectOut()).split(table))
    return [Task(model, seed, fold, config, dict(model_options or {}), stages) for seed in seeds for fold in folds]


def cross_validate(
    table: SampleTable,
    model: str,
    *,
    seeds: Sequence[int] = (0,),
    config: TrainConfig | None = None,
    model_options: Mapping[str, Any] | None = None,
    splitter: Splitter | None = None,
    input_settings: InputSettings | None = None,
    cache_dir: Path | None = None,
    workers: int = 1,
    executor: Executor | None = None,
    run_dir: Path | None = None,
    on_task_done: FoldCallback | None = None,
    on_epoch: EpochCallback | None = None,
    on_build: Progress | None = None,
    stages: Stages = (),
    epoch_curves: bool = False,
) -> pd.DataFrame:
    """Predictions of every evaluated clip for every seed (one row per seed x clip), in table order.

    ``splitter`` makes the folds (default: leave one subject out). The model's inputs are built (or read
    from the cache in ``cache_dir``) with ``input_settings`` before the first task runs; ``on_build``
    follows that. ``executor`` runs the tasks (default: :class:`LocalExecutor` with ``workers``); it
    receives the table of cached input paths, never the arrays. With ``run_dir``, each finished task's
    predictions are saved there as they arrive, and tasks already saved are not run again; the caller
    checks the folder holds this run (:func:`~microexp.evaluation.report.open_run`).
    ``epoch_curves``: also save in ``run_dir`` each task's test-fold probabilities after every epoch and
    its time (:func:`run_task_watching_epochs`); a task saved without them is run again.
    """
    if epoch_curves and run_dir is None:
        raise ValueError("epoch_curves are saved in the run folder: give run_dir")
    info = get_model_info(model)
    config = config or TrainConfig.from_dict(dict(info.training))
    tasks = make_tasks(table, model, seeds, config, model_options, splitter, stages)

    def saved(task: Task) -> Path:
        return task_path(run_dir, task.model, task.seed, task.fold.name)

    def finished(task: Task) -> bool:
        watched = not epoch_curves or curve_path(run_dir, task.model, task.seed, task.fold.name).exists()
        return saved(task).exists() and watched

    # With a run folder, every result is read back from its file, so a resumed run pools exactly the
    # same values as an uninterrupted one.
    results = {} if run_dir is None else {t.name: read_predictions(saved(t)) for t in tasks if finished(t)}
    todo = [task for task in tasks if task.name not in results]
    if results:
        logger.info("%s: %d of %d tasks already finished in %s", model, len(results), len(tasks), run_dir)
    if todo:
        if not all(input_column(name) in table.samples.columns for name in info.inputs):
            table = build_inputs(
                table, info.inputs, input_settings, cache_dir=cache_dir, workers=workers, progress=on_build
            )
        if getattr(executor, "remote", False):  # workers on other machines cannot read this cache
            table = pack_inputs(table, list(info.inputs))
        function = run_task_watching_epochs if epoch_curves else run_task
        for task, outcome in (executor or LocalExecutor(workers)).map(function, todo, (table,), on_epoch):
            frame = outcome.predictions if epoch_curves else outcome
            if epoch_curves:  # before the predictions, whose file says the task is finished
                path = curve_path(run_dir, task.model, task.seed, task.fold.name)
                write_epoch_curve(path, outcome.curve, frame["clip_id"].to_numpy(), outcome.seconds)
            if run_dir is not None:
                write_task_predictions(saved(task), frame)
                frame = read_predictions(saved(task))
            results[task.name] = frame
            if on_task_done:
                on_task_done(len(results), len(tasks), task.name)
    predictions = pd.concat([results[task.name] for task in tasks], ignore_index=True)
    order = {clip: i for i, clip in enumerate(table.samples["clip_id"])}
    predictions["_row"] = predictions["clip_id"].map(order)
    return predictions.sort_values(["seed", "_row"]).drop(columns="_row").reset_index(drop=True)


def _mean_std(values: Sequence[float]) -> dict[str, float]:
    return {"mean": float(np.mean(values)), "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0}


def pooled_scores(predictions: pd.DataFrame, num_classes: int) -> dict:
    """Scores per seed on pooled predictions (all clips and each part), then mean ± std (sample std) over
    seeds: ``uf1``, ``uar``, ``accuracy``, ``weighted_f1``, ``parts`` and ``per_seed``."""
    per_seed = {}
    for seed, rows in predictions.groupby("seed"):
        scores = score_by_part(rows["label"], rows["prediction"], rows["part"], num_classes)
        per_seed[int(seed)] = {part: s.as_dict() for part, s in scores.items()}
    seeds = sorted(per_seed)
    parts = sorted({p for s in per_seed.values() for p in s} - {"all"})

    def aggregate(part: str, metric: str) -> dict[str, float]:
        return _mean_std([per_seed[s][part][metric] for s in seeds])

    return {
        "uf1": aggregate("all", "uf1"),
        "uar": aggregate("all", "uar"),
        "accuracy": aggregate("all", "accuracy"),
        "weighted_f1": aggregate("all", "weighted_f1"),
        "parts": {p: {m: aggregate(p, m) for m in ("uf1", "uar", "accuracy")} for p in parts if len(parts) > 1},
        "per_seed": per_seed,
    }


def summarise(predictions: pd.DataFrame, table: SampleTable, *, model: str, wall_seconds: float) -> dict:
    """Scores per seed on pooled predictions, then mean ± std (sample std) over seeds."""
    return {
        "dataset": table.name,
        "model": model,
        "classes": list(table.classes),
        "seeds": sorted(int(seed) for seed in predictions["seed"].unique()),
        "n_clips": int(predictions["clip_id"].nunique()),
        "n_folds": int(predictions["fold"].nunique()),
        "wall_seconds": round(wall_seconds, 2),
        **pooled_scores(predictions, len(table.classes)),
    }


class Stopwatch:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start
