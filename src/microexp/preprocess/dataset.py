"""Database-wide preprocessing: the onset→apex flow image of every clip of a sample table.

The result is written in the MEGC2019 composite's format (28x28 RGB PNG = u, v, strain, min-max per
image by default), and the table gains a ``flow_path`` column, so every flow model reads a database
we preprocessed exactly as it reads the distributed composite.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from microexp.data.schema import SampleTable
from microexp.errors import DataError
from microexp.preprocess.flow import normalise
from microexp.preprocess.pipeline import Clip, FlowSettings, preprocess_clip, preprocess_clips
from microexp.preprocess.video import frame_number


def _settings_tag(settings: FlowSettings, norm: str) -> str:
    text = json.dumps({**settings.key_params(), "norm": norm}, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def _write_png_atomically(path: Path, image: np.ndarray) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".png.part")
    os.close(handle)
    try:
        Image.fromarray(image, mode="RGB").save(temporary, format="PNG")
        os.replace(temporary, path)  # a reader never sees a half-written file
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _spot_path(png: Path) -> Path:
    return png.with_suffix(".apex.json")


def attach_flows(
    table: SampleTable,
    cache_dir: str | Path,
    settings: FlowSettings = FlowSettings(),
    *,
    norm: str = "minmax",
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> SampleTable:
    """Compute (or read from the cache) every clip's flow image; return the table with ``flow_path``.

    Clips with an annotated apex go through the cached, parallel path; clips without one (SMIC) have
    their apex spotted by flow magnitude between onset and offset, recorded in ``apex_spotted``.
    """
    samples = table.samples
    empty = samples.loc[samples["frames"].map(len) == 0, "clip_id"].tolist()
    if empty:
        raise DataError(
            f"{table.name}: {len(empty)} clip(s) have no frames, e.g. {empty[0]}; load the database with its "
            "frames folder (--data-dir pointing at your copy) before preprocessing"
        )
    out_dir = Path(cache_dir) / f"flows-{_settings_tag(settings, norm)}"
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / (clip_id.replace("/", "__") + ".png") for clip_id in samples["clip_id"]]
    todo = [i for i, path in enumerate(paths) if not path.is_file()]
    rows = samples.iloc[todo]
    with_apex = [i for i, row in zip(todo, rows.itertuples(), strict=True) if not pd.isna(row.apex)]
    clips = []
    for i in with_apex:
        row = samples.iloc[i]
        onset = int(row["onset"]) if not pd.isna(row["onset"]) else frame_number(row["frames"][0])
        clips.append(Clip(tuple(Path(p) for p in row["frames"]), onset, int(row["apex"]), row["clip_id"]))
    total = len(todo)

    def report(done: int, _: int) -> None:
        if progress:
            progress(done, total)

    for i, features in zip(
        with_apex, preprocess_clips(clips, settings, Path(cache_dir) / "arrays", workers, report), strict=True
    ):
        _write_png_atomically(paths[i], normalise(features, norm))
    for done, i in enumerate(sorted(set(todo) - set(with_apex)), start=len(with_apex) + 1):
        row = samples.iloc[i]
        frames = [Path(p) for p in row["frames"]]
        onset = int(row["onset"]) if not pd.isna(row["onset"]) else frame_number(frames[0])
        offset = None if pd.isna(row["offset"]) else int(row["offset"])
        result = preprocess_clip(frames, onset, None, offset, settings)
        spot = {"apex": frame_number(result.frames[result.apex.index]), "method": result.apex.method}
        _spot_path(paths[i]).write_text(json.dumps(spot))  # before the PNG: a PNG implies its spot exists
        _write_png_atomically(paths[i], normalise(result.features, norm))
        report(done, total)
    with_paths = samples.assign(flow_path=[str(p) for p in paths])
    spots = [_spot_path(p) for p in paths]
    if any(s.is_file() for s in spots):
        with_paths["apex_spotted"] = pd.array(
            [json.loads(s.read_text())["apex"] if s.is_file() else None for s in spots], dtype="Int64"
        )
    return SampleTable(table.name, table.classes, with_paths)
