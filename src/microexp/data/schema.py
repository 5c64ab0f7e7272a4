"""The common sample table every database adapter returns.

One row per clip. Columns (see ``COLUMNS``):

- ``dataset``: database name (``casme2``, ``samm``, ``smic``, ...). In a composite, the source part.
- ``subject``: subject id as a string, unique within the whole table (composites prefix the part).
- ``clip_id``: globally unique id ``"<dataset>/<subject>/<clip>"``; composites cannot collide.
- ``clip``: the clip's name in its own database (``EP02_01f``, ``006_1_2``).
- ``label``: integer class index into ``SampleTable.classes``.
- ``emotion``: the database's own emotion word before mapping to classes.
- ``onset``, ``apex``, ``offset``: frame numbers as the database numbers them (nullable).
- ``aus``: FACS action units as written in the sheet ("" when unknown).
- ``frames``: tuple of frame file paths in temporal order (empty when the database ships none).

Adapters may add columns (for example ``flow_path`` or ``apex_path`` for precomputed inputs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from microexp.errors import DataError

COLUMNS: tuple[str, ...] = (
    "dataset",
    "subject",
    "clip_id",
    "clip",
    "label",
    "emotion",
    "onset",
    "apex",
    "offset",
    "aus",
    "frames",
)


def make_clip_id(dataset: str, subject: str, clip: str) -> str:
    return f"{dataset}/{subject}/{clip}"


@dataclass(frozen=True)
class SampleTable:
    """A validated table of clips plus the class names its integer labels index."""

    name: str
    classes: tuple[str, ...]
    samples: pd.DataFrame = field(repr=False)

    def __post_init__(self) -> None:
        validate_samples(self.samples, self.classes, self.name)

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def subjects(self) -> list[str]:
        return sorted(self.samples["subject"].unique())

    @property
    def labels(self) -> np.ndarray:
        return self.samples["label"].to_numpy(dtype=np.int64)

    def subset(self, mask_or_index: Sequence | np.ndarray | pd.Series) -> SampleTable:
        """Rows by boolean mask or integer positions, as a new table with the same classes."""
        rows = np.asarray(mask_or_index)
        picked = self.samples[rows] if rows.dtype == bool else self.samples.iloc[rows]
        return SampleTable(self.name, self.classes, picked.reset_index(drop=True))

    def class_counts(self) -> dict[str, int]:
        counts = self.samples["label"].value_counts()
        return {name: int(counts.get(i, 0)) for i, name in enumerate(self.classes)}


def build_table(name: str, classes: Sequence[str], rows: list[dict]) -> SampleTable:
    """Make a SampleTable from row dicts, filling optional schema columns with empty values."""
    defaults = {"emotion": "", "onset": pd.NA, "apex": pd.NA, "offset": pd.NA, "aus": "", "frames": ()}
    filled = [{**defaults, **row} for row in rows]
    frame = pd.DataFrame(filled)
    if not filled:
        frame = pd.DataFrame(columns=list(COLUMNS))
    for column in ("onset", "apex", "offset"):
        frame[column] = frame[column].astype("Int64")
    frame["label"] = frame["label"].astype(np.int64)
    ordered = list(COLUMNS) + [c for c in frame.columns if c not in COLUMNS]
    return SampleTable(name, tuple(classes), frame[ordered])


def validate_samples(samples: pd.DataFrame, classes: Sequence[str], name: str) -> None:
    missing = [c for c in COLUMNS if c not in samples.columns]
    if missing:
        raise DataError(f"{name}: sample table lacks columns {missing}; expected at least {list(COLUMNS)}")
    duplicated = samples["clip_id"][samples["clip_id"].duplicated()].tolist()
    if duplicated:
        raise DataError(f"{name}: clip ids must be unique, repeated: {duplicated[:5]}")
    labels = samples["label"].to_numpy()
    bad = (labels < 0) | (labels >= len(classes))
    if bad.any():
        clip = samples["clip_id"].iloc[int(np.argmax(bad))]
        raise DataError(
            f"{name}: clip {clip} has label {labels[bad][0]}, expected 0..{len(classes) - 1} ({list(classes)})"
        )
