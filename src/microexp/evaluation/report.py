"""Writing a run folder: what was run, every prediction, the pooled scores and MEGC logs."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from microexp.evaluation.metrics import LogEntry, write_megc_log

CONFIG_FILE = "config.json"
SUMMARY_FILE = "summary.json"
PREDICTIONS_FILE = "predictions.csv"


def write_json_atomically(path: Path, data: Mapping[str, Any]) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
    with os.fdopen(handle, "w") as stream:
        json.dump(data, stream, indent=2, default=str)
    os.replace(temporary, path)


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
    write_json_atomically(written[0], config)
    predictions.to_csv(written[1], index=False, float_format="%.6f")
    for seed, rows in predictions.groupby("seed"):
        path = out_dir / f"megc_seed{seed}.txt"
        write_megc_log(path, megc_log_entries(rows))
        written.append(path)
    # The summary goes last: its presence means the run folder is complete.
    write_json_atomically(out_dir / SUMMARY_FILE, summary)
    return written + [out_dir / SUMMARY_FILE]
