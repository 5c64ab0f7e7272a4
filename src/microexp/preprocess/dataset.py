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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from microexp.data.schema import SampleTable
from microexp.errors import DataError
from microexp.preprocess.cache import cache_key
from microexp.preprocess.flow import normalise
from microexp.preprocess.pipeline import Clip, FlowSettings, preprocess_clip, preprocess_clips
from microexp.preprocess.video import clip_range, frame_number


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


@dataclass(frozen=True)
class _TableClip(Clip):
    """A clip of the table; ``apex`` is None when the database gives none (it is then spotted)."""

    offset: int | None = None


def _clip_of(row: dict) -> _TableClip:
    frames = tuple(Path(p) for p in row["frames"])
    onset = frame_number(frames[0]) if pd.isna(row["onset"]) else int(row["onset"])
    apex = None if pd.isna(row["apex"]) else int(row["apex"])
    offset = None if pd.isna(row["offset"]) else int(row["offset"])
    return _TableClip(frames, onset, apex, row["clip_id"], offset)


def _deciding_frames(clip: _TableClip) -> list[Path]:
    if clip.apex is not None:
        return list(clip.onset_apex_paths())
    last = clip.offset if clip.offset is not None else frame_number(clip.frames[-1])
    return clip_range(clip.frames, clip.onset, last)


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
    clips = [_clip_of(row) for row in samples.to_dict("records")]
    # Named by the content of the frames that decide the result, so a regenerated or corrected database
    # never reuses the flows of its old frames.
    paths = [
        out_dir / f"{clip.clip_id.replace('/', '__')}-{cache_key(_deciding_frames(clip), {})[:16]}.png"
        for clip in clips
    ]
    todo = [i for i, path in enumerate(paths) if not path.is_file()]
    with_apex = [i for i in todo if clips[i].apex is not None]
    total = len(todo)

    def report(done: int, _: int) -> None:
        if progress:
            progress(done, total)

    flows = preprocess_clips([clips[i] for i in with_apex], settings, Path(cache_dir) / "arrays", workers, report)
    for i, features in zip(with_apex, flows, strict=True):
        _write_png_atomically(paths[i], normalise(features, norm))
    for done, i in enumerate(sorted(set(todo) - set(with_apex)), start=len(with_apex) + 1):
        clip = clips[i]
        result = preprocess_clip(clip.frames, clip.onset, None, clip.offset, settings)
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
