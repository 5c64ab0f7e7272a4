"""Evaluation protocols as small splitters in the scikit-learn style.

A splitter takes a :class:`~microexp.data.schema.SampleTable` and yields named folds of row positions.
Folds are named after what they hold out, so predictions can always be matched back by clip id.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from microexp.data.schema import SampleTable
from microexp.errors import ConfigError, DataError


@dataclass(frozen=True)
class Fold:
    name: str
    train: np.ndarray  # row positions in the table
    test: np.ndarray


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
