"""Writing a run folder: what was run, every prediction, the pooled scores and MEGC logs.

A run folder is written as the run goes, so an interrupted run can be resumed:

    data.json                            what it read: each clip's annotations and input files' digest
    config.json                          what is being run, written first; a resume must match it, and
                                         read the same data
    tasks/<model>/seed<N>/<fold>.csv     one finished task's predictions, each written atomically
    tasks/<model>/seed<N>/<fold>.epochs.npz   with epoch curves (a leaderboard): the test fold's class
                                         probabilities after every epoch, and the task's seconds
    predictions.csv, megc_seed<N>.txt    every task's predictions, once all are finished
    summary.json                         pooled scores, written last: its presence means complete
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from microexp.errors import ConfigError, DataError
from microexp.evaluation.metrics import LogEntry, write_megc_log
from microexp.files import atomic_path, write_json, write_text
from microexp.inputs.fingerprint import describe_changes

CONFIG_FILE = "config.json"
DATA_FILE = "data.json"
SUMMARY_FILE = "summary.json"
PREDICTIONS_FILE = "predictions.csv"
TASKS_DIR = "tasks"
# How the columns of a predictions file read back. Everything is read as the text written and only these
# are converted: no type or missing-value guessing, so SAMM's subject "006" stays "006" and JAFFE's subject
# "NA" (or a subject called "null") stays a subject instead of becoming missing.
_INTEGER_COLUMNS = ("seed", "label", "prediction")
_PROBABILITY_PREFIX = "p_"


def _as_json(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` as it reads back from config.json (tuples become lists, paths strings), for comparing."""
    return json.loads(json.dumps(data, default=str))


def _differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        return [
            difference
            for key in sorted(set(old) | set(new))
            for difference in _differences(old.get(key), new.get(key), f"{prefix}{key}.")
        ]
    return [] if old == new else [f"{prefix.rstrip('.')} ({old!r} in the folder, {new!r} now)"]


def open_run(
    out_dir: Path, config: Mapping[str, Any], *, data: Mapping[str, Any] | None = None, overwrite: bool = False
) -> None:
    """Start or resume the run folder ``out_dir`` for ``config`` on ``data`` (its
    :func:`~microexp.inputs.fingerprint.data_fingerprint`): record both before any work, so a later resume
    can check them. A folder holding another config or a run on other data is refused unless
    ``overwrite``, which deletes the earlier run's files (only those: the folder may hold other things)."""
    config_path, data_path = out_dir / CONFIG_FILE, out_dir / DATA_FILE
    if overwrite:
        shutil.rmtree(out_dir / TASKS_DIR, ignore_errors=True)
        earlier = [config_path, data_path, out_dir / SUMMARY_FILE, out_dir / PREDICTIONS_FILE]
        for path in [*earlier, *out_dir.glob("megc_seed*.txt")]:
            path.unlink(missing_ok=True)
    elif config_path.exists():
        if data is not None and data_path.exists():
            changes = describe_changes(json.loads(data_path.read_text()), _as_json(data))
            if changes:
                raise DataError(
                    f"{out_dir} holds a run on other data: {'; '.join(changes)}. Its {count_finished_tasks(out_dir)} "
                    "finished task(s) were trained and scored on the data as it was: pass --overwrite to discard "
                    "them, or choose a new --out"
                )
        differences = _differences(json.loads(config_path.read_text()), _as_json(config))
        if differences:
            raise ConfigError(
                f"{out_dir} holds a run with a different config: {'; '.join(differences)}. "
                "Rerun with the folder's options to resume it, choose a new --out, or pass --overwrite to discard it"
            )
        if data is not None and not data_path.exists():  # a run from before data.json: its table fingerprint held
            write_json(data_path, data)
        return
    if data is not None:
        write_json(data_path, data)
    write_json(config_path, config)  # last: its presence means the run's records are complete


def is_complete(out_dir: Path) -> bool:
    return (out_dir / SUMMARY_FILE).exists()


def task_path(out_dir: Path, model: str, seed: int, fold: str) -> Path:
    # Fold names are subjects such as "casme2/sub01": the part becomes a folder, which reads well.
    return out_dir / TASKS_DIR / model / f"seed{seed}" / f"{fold}.csv"


def curve_path(out_dir: Path, model: str, seed: int, fold: str) -> Path:
    return out_dir / TASKS_DIR / model / f"seed{seed}" / f"{fold}.epochs.npz"


def write_epoch_curve(path: Path, curve: np.ndarray, clip_ids: np.ndarray, seconds: float) -> None:
    """One task's epoch curve (epochs, test clips, classes), the clips it is of, and the task's seconds."""
    with atomic_path(path) as temporary:
        np.savez(temporary, curve=curve, clip_id=np.asarray(clip_ids, dtype=str), seconds=np.float64(seconds))


def read_epoch_curve(path: Path) -> tuple[np.ndarray, np.ndarray, float]:
    """(curve, clip ids, seconds) as :func:`write_epoch_curve` wrote them."""
    if not path.is_file():
        raise DataError(f"{path} is missing: the run was made without epoch curves; rerun it as a leaderboard")
    with np.load(path) as saved:
        return saved["curve"], saved["clip_id"], float(saved["seconds"])


def write_task_predictions(path: Path, predictions: pd.DataFrame) -> None:
    # Unrounded (predictions.csv keeps 6 decimals): the runner pools what it reads back from these files,
    # whether they were written by this invocation or an interrupted one.
    write_text(path, predictions.to_csv(index=False))


def read_predictions(path: Path) -> pd.DataFrame:
    """A task's or a run's predictions file exactly as written: text columns as text (nothing is taken for
    a missing value), seed, label and prediction as integers, class probabilities as floats."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    for column in frame.columns:
        if column in _INTEGER_COLUMNS:
            frame[column] = frame[column].astype("int64")
        elif column.startswith(_PROBABILITY_PREFIX):
            frame[column] = frame[column].astype("float64")
    return frame


def count_finished_tasks(out_dir: Path) -> int:
    return sum(1 for _ in (out_dir / TASKS_DIR).rglob("*.csv"))


def count_finished_curves(out_dir: Path) -> int:
    return sum(1 for _ in (out_dir / TASKS_DIR).rglob("*.epochs.npz"))


def megc_log_entries(predictions: pd.DataFrame) -> list[LogEntry]:
    """One seed's predictions as MEGC log lines, with subjects and clips in their database's own names."""
    entries = []
    for row in predictions.itertuples():
        dataset, subject, clip = row.clip_id.split("/", 2)
        entries.append(LogEntry(dataset, subject, clip, int(row.label), int(row.prediction)))
    return entries


def write_run(
    out_dir: Path, config: Mapping[str, Any], predictions: pd.DataFrame, summary: Mapping[str, Any]
) -> list[Path]:
    """Write config.json, predictions.csv, summary.json and megc_seed<N>.txt; return the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / CONFIG_FILE, out_dir / PREDICTIONS_FILE]
    write_json(written[0], config)
    write_text(written[1], predictions.to_csv(index=False, float_format="%.6f"))
    for seed, rows in predictions.groupby("seed"):
        path = out_dir / f"megc_seed{seed}.txt"
        write_megc_log(path, megc_log_entries(rows))
        written.append(path)
    # The summary goes last: its presence means the run folder is complete.
    write_json(out_dir / SUMMARY_FILE, summary)
    return written + [out_dir / SUMMARY_FILE]
