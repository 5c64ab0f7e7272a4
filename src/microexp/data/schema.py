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

A table made of several databases by :func:`concat_tables` adds ``domain`` (the source table's name) and
``role``: "evaluate" rows are tested (and trained on), "train" rows only ever train (see
:mod:`microexp.data.splitters`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from microexp.errors import ConfigError, DataError

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


DOMAIN = "domain"
ROLE = "role"
EVALUATE = "evaluate"
TRAIN = "train"
ROLES: tuple[str, ...] = (EVALUATE, TRAIN)


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


def concat_tables(tables: Sequence[SampleTable], roles: Sequence[str], name: str) -> SampleTable:
    """One table of several, for training on some databases while evaluating on others.

    ``roles[i]`` is the role of every row of ``tables[i]``: "evaluate" or "train" (at least one table is
    evaluated). All tables must share their classes. The result has every column of every table (a column
    a table lacks is empty there: ``None``, or NA for numbers), plus ``domain`` (the source table's name) and
    ``role``. Subjects are kept as they are, so a subject named alike in two tables (CK+ and CK+48 hold the
    same people) is held out of training whenever one of its rows is tested.
    """
    if len(tables) != len(roles) or not tables:
        raise ConfigError(
            f"{name}: give one role per table, and at least one table; got {len(tables)} table(s) and "
            f"{len(roles)} role(s)"
        )
    unknown = sorted({role for role in roles if role not in ROLES})
    if unknown:
        raise ConfigError(f"{name}: unknown role(s) {unknown}; expected one of {list(ROLES)}")
    if EVALUATE not in roles:
        raise ConfigError(f"{name}: no table has role {EVALUATE!r}; at least one table must be evaluated")
    first = tables[0]
    for table in tables[1:]:
        if table.classes != first.classes:
            raise DataError(
                f"{name}: table {table.name} has classes {list(table.classes)} but {first.name} has "
                f"{list(first.classes)}; load the training-only table with a label map onto the evaluated "
                "table's classes (for example ckplus with label map megc3 for the MEGC2019 composite)"
            )
    for table in tables:
        taken = [c for c in (DOMAIN, ROLE) if c in table.samples.columns]
        if taken:
            raise DataError(
                f"{name}: table {table.name} already has column(s) {taken}; concatenate its source tables instead"
            )
    owner: dict[str, str] = {}
    for table in tables:
        for clip_id in table.samples["clip_id"]:
            if clip_id in owner:
                raise DataError(
                    f"{name}: clip id {clip_id} is in both {owner[clip_id]} and {table.name}; "
                    "clip ids must stay unique (give each table once)"
                )
            owner[clip_id] = table.name
    parts = [
        table.samples.assign(**{DOMAIN: table.name, ROLE: role}) for table, role in zip(tables, roles, strict=True)
    ]
    merged = pd.concat(parts, ignore_index=True)
    for column in merged.columns:
        present = [part[column] for part in parts if column in part.columns]
        if len(present) == len(parts):
            continue
        if all(pd.api.types.is_integer_dtype(values) for values in present):
            merged[column] = merged[column].astype("Int64")
        elif not all(pd.api.types.is_numeric_dtype(values) for values in present):
            # pandas fills a missing text column with NaN, which is truthy; None reads as empty everywhere.
            merged[column] = merged[column].astype(object).where(merged[column].notna(), None)
    ordered = list(COLUMNS) + [DOMAIN, ROLE]
    ordered += [c for c in merged.columns if c not in ordered]
    return SampleTable(name, first.classes, merged[ordered])


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
    if ROLE in samples.columns:
        unknown = sorted({str(role) for role in samples[ROLE]} - set(ROLES))
        if unknown:
            raise DataError(f"{name}: unknown role(s) {unknown} in column {ROLE!r}; expected one of {list(ROLES)}")
