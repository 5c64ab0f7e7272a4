"""The honest leaderboard: every model of an experiment on one database, beside its published figure and
beside what test-fold epoch selection would have made of the very same training.

Each model's runs keep their epoch curves (:mod:`microexp.evaluation.selection`), so one training per
fold and seed gives both the honest figure (the fixed schedule's last epoch, what ``microexp evaluate``
reports) and the two selected readings, which pick epochs with the test labels and therefore measure a
bias, never a result. A model fitted in one go (scikit-learn) has no epochs and no selected reading.

An optional ensemble row averages the class probabilities of members named in the experiment file, with
equal weights: the members are fixed before anything is measured and nothing is weighted by test scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from microexp.errors import ConfigError, DataError
from microexp.evaluation.comparison import published_for
from microexp.evaluation.report import PREDICTIONS_FILE, read_predictions
from microexp.evaluation.runner import pooled_scores
from microexp.evaluation.selection import SELECTED, fold_positions, readings, seed_curves
from microexp.files import write_text
from microexp.models.registry import create_model, get_model_info

PARTS = ("smic", "casme2", "samm")
# The selected readings' names in the leaderboard, which say what picks the epoch.
SELECTION_COLUMNS = {"best epoch overall": "best_epoch_all_folds", "best epoch per fold": "best_epoch_per_subject"}
NOT_AVAILABLE = "–"


@dataclass(frozen=True)
class EnsembleSpec:
    """A row of the leaderboard that averages its members' class probabilities, seed by seed."""

    name: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class LeaderboardSpec:
    ensemble: EnsembleSpec | None = None


@dataclass(frozen=True)
class FinishedRun:
    """One model's finished run folder, with its spec's essentials and its summary."""

    run_dir: Path
    model: str
    model_options: Mapping[str, Any]
    summary: Mapping[str, Any]


def count_parameters(model: str, num_classes: int, options: Mapping[str, Any]) -> int | None:
    """Trainable parameters of a torch model as built for the run; None for a scikit-learn model, whose
    size depends on what it is fitted to."""
    if get_model_info(model).backend != "torch":
        return None
    network = create_model(model, num_classes=num_classes, **options)
    return int(sum(p.numel() for p in network.parameters() if p.requires_grad))


def _scores_columns(scores: Mapping[str, Any]) -> dict[str, float]:
    columns = {
        "uf1_mean": scores["uf1"]["mean"],
        "uf1_std": scores["uf1"]["std"],
        "uar_mean": scores["uar"]["mean"],
        "uar_std": scores["uar"]["std"],
    }
    for part in PARTS:
        part_scores = scores.get("parts", {}).get(part)
        for metric in ("uf1", "uar"):
            columns[f"{part}_{metric}"] = part_scores[metric]["mean"] if part_scores else np.nan
    return columns


def _selected_columns(per_seed: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Mean ± std over seeds of the selected readings; NaN for a model without epochs."""
    columns = {}
    for reading in SELECTED:
        name = SELECTION_COLUMNS[reading]
        for metric in ("uf1", "uar"):
            values = [seed[reading][metric] for seed in per_seed]
            columns[f"{name}_{metric}_mean"] = float(np.mean(values)) if values else np.nan
            columns[f"{name}_{metric}_std"] = float(np.std(values, ddof=1)) if len(values) > 1 else np.nan
    return columns


def _base_row(name: str, kind: str, dataset: str, seeds: int) -> dict[str, Any]:
    published = published_for(name, dataset)
    return {
        "entry": name,
        "kind": kind,
        "dataset": dataset,
        "seeds": seeds,
        "published_method": published.method,
        "published_uf1": published.uf1,
        "published_uar": published.uar,
        "published_note": published.note,
        "published_source": published.source,
    }


def model_row(run: FinishedRun) -> tuple[dict[str, Any], pd.DataFrame]:
    """A model's leaderboard row, and its predictions (for an ensemble)."""
    summary = run.summary
    predictions = read_predictions(run.run_dir / PREDICTIONS_FILE)
    per_seed, seconds = [], 0.0
    for _, rows in predictions.groupby("seed"):
        curves, task_seconds = seed_curves(run.run_dir, run.model, rows)
        seconds += task_seconds
        if curves is not None:
            per_seed.append(readings(curves, rows["label"].to_numpy(), fold_positions(rows)))
    row = {
        **_base_row(run.model, "model", summary["dataset"], len(summary["seeds"])),
        **_scores_columns(summary),
        **_selected_columns(per_seed),
        "train_seconds": seconds,
        "parameters": count_parameters(run.model, len(summary["classes"]), run.model_options),
    }
    return row, predictions


def ensemble_row(spec: EnsembleSpec, members: Mapping[str, tuple[dict[str, Any], pd.DataFrame]]) -> dict[str, Any]:
    """The mean class probabilities of ``spec``'s members, seed by seed, clips matched by id."""
    frames = [members[name][1].sort_values(["seed", "clip_id"]).reset_index(drop=True) for name in spec.members]
    reference = frames[0]
    for name, frame in zip(spec.members[1:], frames[1:], strict=True):
        if not frame[["seed", "clip_id"]].equals(reference[["seed", "clip_id"]]):
            raise DataError(
                f"ensemble {spec.name}: {name} holds other clips or seeds than {spec.members[0]}; "
                "rerun the experiment with --overwrite"
            )
    columns = [c for c in reference.columns if c.startswith("p_")]
    mean = np.mean([frame[columns].to_numpy() for frame in frames], axis=0)
    averaged = reference.assign(prediction=mean.argmax(axis=1))
    rows = [members[name][0] for name in spec.members]
    parameters = [row["parameters"] for row in rows]
    return {
        **_base_row(spec.name, "ensemble", rows[0]["dataset"], int(reference["seed"].nunique())),
        **_scores_columns(pooled_scores(averaged, len(columns))),
        **_selected_columns([]),
        "train_seconds": float(sum(row["train_seconds"] for row in rows)),
        "parameters": None if None in parameters else int(sum(parameters)),
        "published_note": f"equal-weight mean of {', '.join(spec.members)}, fixed before measuring",
    }


def check_leaderboard(spec: LeaderboardSpec, models: Sequence[str], datasets: Sequence[str]) -> None:
    """Raise before any run when the leaderboard cannot be made from the experiment's runs."""
    if len(datasets) != 1:
        raise ConfigError(f"leaderboard: ranks the models on one database; the experiment has {list(datasets)}")
    if spec.ensemble is None:
        return
    name, members = spec.ensemble.name, spec.ensemble.members
    unknown = [member for member in members if member not in models]
    if unknown or len(set(members)) < 2 or len(set(members)) != len(members):
        raise ConfigError(
            f"leaderboard.ensemble.members: expected two or more distinct models of the experiment {list(models)}, "
            f"got {list(members)}"
        )
    if name in models:
        raise ConfigError(f"leaderboard.ensemble.name: {name!r} is a model of the experiment; name the row otherwise")


def leaderboard_frame(runs: Sequence[FinishedRun], spec: LeaderboardSpec) -> pd.DataFrame:
    """One row per model, then the ensemble's; ranked by nothing: the order of the experiment file."""
    scored = {run.model: model_row(run) for run in runs}
    rows = [row for row, _ in scored.values()]
    if spec.ensemble is not None:
        rows.append(ensemble_row(spec.ensemble, scored))
    return pd.DataFrame(rows)


def _number(value: Any, digits: int = 4) -> str:
    return NOT_AVAILABLE if value is None or pd.isna(value) else f"{value:.{digits}f}"


def _mean_std(mean: Any, std: Any) -> str:
    if pd.isna(mean):
        return NOT_AVAILABLE
    return f"{mean:.4f} ± {std:.4f}" if not pd.isna(std) else f"{mean:.4f}"


DISPLAY_HEADER = [
    "entry",
    "published UF1 / UAR [source]",
    "honest UF1",
    "honest UAR",
    "smic UF1 / UAR",
    "casme2 UF1 / UAR",
    "samm UF1 / UAR",
    "BIAS: UF1, best epoch of all folds",
    "BIAS: UF1, best epoch per subject",
    "seeds",
    "training time (s)",
    "parameters",
]


def display_rows(frame: pd.DataFrame) -> tuple[list[str], list[list[str]], list[str]]:
    """Header, text cells and the numbered sources the cells cite; shared by the printed table and
    leaderboard.md."""
    sources: list[str] = []
    cells = []
    for row in frame.itertuples():
        published = NOT_AVAILABLE
        if not pd.isna(row.published_uf1):
            if row.published_source not in sources:
                sources.append(row.published_source)
            published = (
                f"{_number(row.published_uf1)} / {_number(row.published_uar)} "
                f"[{sources.index(row.published_source) + 1}]"
            )
        parts = [f"{_number(getattr(row, f'{p}_uf1'))} / {_number(getattr(row, f'{p}_uar'))}" for p in PARTS]
        selected = [
            _mean_std(getattr(row, f"{name}_uf1_mean"), getattr(row, f"{name}_uf1_std"))
            for name in SELECTION_COLUMNS.values()
        ]
        parameters = NOT_AVAILABLE if pd.isna(row.parameters) else f"{int(row.parameters):,}"
        cells.append(
            [
                row.entry,
                published,
                _mean_std(row.uf1_mean, row.uf1_std),
                _mean_std(row.uar_mean, row.uar_std),
                *parts,
                *selected,
                str(row.seeds),
                f"{row.train_seconds:.0f}",
                parameters,
            ]
        )
    return DISPLAY_HEADER, cells, sources


def write_leaderboard(out_dir: Path, frame: pd.DataFrame, title: str) -> list[Path]:
    """leaderboard.md (the table, its sources and what each column means) and leaderboard.csv (every
    number, unrounded but for 4 decimals)."""
    header, cells, sources = display_rows(frame)
    lines = [f"# {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    lines += [
        "",
        "honest: mean ± std over seeds of UF1 / UAR on predictions pooled over all folds, each fold trained on its "
        "fixed schedule; the test folds choose nothing. Parts: the same pooled predictions restricted to each part.",
        "BIAS columns are not results: the same training read at the epoch with the best pooled test UF1 (one "
        "epoch for all folds), or at each subject's epoch with the best accuracy on that subject's own test "
        "clips, as much published code does. Their gap to the honest column is what test-fold selection adds. "
        f"{NOT_AVAILABLE}: a model fitted in one go (no epochs) or nothing published.",
        "training time: the tasks' training and prediction seconds summed over folds and seeds (one thread "
        "each); an ensemble's is its members'. parameters: trainable parameters of the torch model.",
        "",
    ]
    for row in frame.itertuples():
        if row.published_note:
            lines.append(f"- {row.entry}: {row.published_method or 'ensemble'}; {row.published_note}")
    lines += ["", "Sources:"] + [f"{i}. {source}" for i, source in enumerate(sources, start=1)]
    paths = [out_dir / "leaderboard.md", out_dir / "leaderboard.csv"]
    write_text(paths[0], "\n".join(lines) + "\n")
    write_text(paths[1], frame.to_csv(index=False, float_format="%.4f"))
    return paths
