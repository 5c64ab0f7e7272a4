"""Evaluation protocols as small splitters in the scikit-learn style.

A splitter takes a :class:`~microexp.data.schema.SampleTable` and yields named folds of row positions.
Folds are named after what they hold out, so predictions can always be matched back by clip id.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from microexp.data.schema import SampleTable
from microexp.errors import ConfigError, DataError


@dataclass(frozen=True)
class Fold:
    name: str
    train: np.ndarray  # row positions in the table
    test: np.ndarray
    # A fixed validation set (FER-2013's PublicTest) for early stopping; never fitted on. None: the engine
    # draws validation subjects from ``train`` when early stopping is on.
    validation: np.ndarray | None = None


class Splitter(Protocol):
    """What the evaluation runner needs of a protocol."""

    def split(self, table: SampleTable) -> Iterator[Fold]: ...


class LeaveOneSubjectOut:
    """One fold per subject: that subject's clips are the test set, everything else trains."""

    def get_n_splits(self, table: SampleTable) -> int:
        return len(table.subjects)

    def split(self, table: SampleTable) -> Iterator[Fold]:
        subjects = table.samples["subject"].to_numpy()
        if len(set(subjects)) < 2:
            raise DataError(
                f"{table.name}: leave-one-subject-out needs at least 2 subjects, found {len(set(subjects))}"
            )
        for subject in table.subjects:
            held_out = subjects == subject
            yield Fold(name=str(subject), train=np.flatnonzero(~held_out), test=np.flatnonzero(held_out))


class SubjectKFold:
    """``n_splits`` folds of whole subjects (seeded shuffle, then near-equal subject counts per fold).

    For databases with several near-identical images per subject (CK+: three frames of each sequence), a
    split by image would put the same face in training and test.
    """

    def __init__(self, n_splits: int = 10, seed: int = 0) -> None:
        if n_splits < 2:
            raise ConfigError(f"SubjectKFold needs at least 2 splits, got {n_splits}")
        self.n_splits = n_splits
        self.seed = seed

    def get_n_splits(self, table: SampleTable) -> int:
        return self.n_splits

    def split(self, table: SampleTable) -> Iterator[Fold]:
        subjects = table.samples["subject"].to_numpy()
        unique = np.array(table.subjects)
        if len(unique) < self.n_splits:
            raise DataError(
                f"{table.name}: {self.n_splits}-fold by subject needs at least {self.n_splits} subjects, "
                f"found {len(unique)}"
            )
        shuffled = np.random.default_rng(self.seed).permutation(unique)
        width = len(str(self.n_splits))
        for index, held_out_subjects in enumerate(np.array_split(shuffled, self.n_splits), start=1):
            held_out = np.isin(subjects, held_out_subjects)
            yield Fold(
                name=f"fold{index:0{width}d}", train=np.flatnonzero(~held_out), test=np.flatnonzero(held_out)
            )


class OfficialSplit:
    """A database's own train / validation / test split, read from a column of the table (FER-2013's
    ``split``: Training, PublicTest, PrivateTest). One fold, named after the test part."""

    def __init__(
        self,
        column: str = "split",
        train: str = "Training",
        validation: str | None = "PublicTest",
        test: str = "PrivateTest",
    ) -> None:
        self.column, self.train, self.validation, self.test = column, train, validation, test

    def get_n_splits(self, table: SampleTable) -> int:
        return 1

    def split(self, table: SampleTable) -> Iterator[Fold]:
        if self.column not in table.samples.columns:
            raise DataError(
                f"{table.name}: the official split reads column {self.column!r}, which this table lacks; "
                "only databases that ship a split (FER-2013) have it"
            )
        parts = table.samples[self.column].to_numpy()
        wanted = [self.train, self.test] + ([self.validation] if self.validation else [])
        for part in wanted:
            if not (parts == part).any():
                raise DataError(
                    f"{table.name}: no rows with {self.column} == {part!r}; found {sorted(set(parts))}"
                )
        yield Fold(
            name=self.test,
            train=np.flatnonzero(parts == self.train),
            test=np.flatnonzero(parts == self.test),
            validation=np.flatnonzero(parts == self.validation) if self.validation else None,
        )


class SubjectValidationSplit:
    """Split training rows into fit / validation by whole subjects, for early stopping.

    Only the rows it is given are used, so the validation set is made of training subjects and the
    test fold can never choose an epoch. Subjects are drawn with a seeded generator.
    """

    def __init__(self, val_fraction: float = 0.2, seed: int = 0) -> None:
        if not 0.0 < val_fraction < 1.0:
            raise ConfigError(f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction}")
        self.val_fraction = val_fraction
        self.seed = seed

    def split(self, subjects: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions (fit, validation) into ``subjects``, the subject of each training row."""
        unique = np.array(sorted(set(subjects.tolist())))
        if len(unique) < 2:
            raise DataError(f"an inner validation split needs at least 2 training subjects, found {len(unique)}")
        rng = np.random.default_rng(self.seed)
        n_val = min(len(unique) - 1, max(1, round(self.val_fraction * len(unique))))
        val_subjects = rng.choice(unique, size=n_val, replace=False)
        is_val = np.isin(subjects, val_subjects)
        return np.flatnonzero(~is_val), np.flatnonzero(is_val)
