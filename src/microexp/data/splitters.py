"""Evaluation splitters in the scikit-learn style, selectable by name (``SPLITTERS``, ``make_splitter``).

A splitter takes a :class:`~microexp.data.schema.SampleTable` and yields named folds of row positions.
Folds are named after what they hold out, so predictions can always be matched back by clip id.

Roles: a table made by :func:`~microexp.data.schema.concat_tables` has a ``role`` column. Folds are then made
over the rows whose role is "evaluate" only (test sets hold only those rows, and fold names come from
them), and a fold trains on every row, of any role, whose subject is not one of its test subjects: rows of
a training-only database add to every fold's training set without ever being tested. A table without a
``role`` column is evaluated whole.
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from microexp.data.schema import EVALUATE, ROLE, SampleTable
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
    """What the evaluation runner needs of a splitter."""

    def get_n_splits(self, table: SampleTable) -> int: ...

    def split(self, table: SampleTable) -> Iterator[Fold]: ...


def evaluated_rows(table: SampleTable) -> np.ndarray:
    """Boolean mask of the rows a splitter may test on: all rows, or those whose role is "evaluate"."""
    if ROLE not in table.samples.columns:
        return np.ones(len(table), dtype=bool)
    evaluated = (table.samples[ROLE] == EVALUATE).to_numpy(dtype=bool)
    if not evaluated.any():
        raise DataError(
            f"{table.name}: no row has role {EVALUATE!r}, so there is nothing to test; "
            "give concat_tables at least one table to evaluate"
        )
    return evaluated


def _subject_fold(name: str, subjects: np.ndarray, held_out_subjects, evaluated: np.ndarray) -> Fold:
    """Test: the evaluated rows of the held-out subjects. Train: every row of every other subject."""
    held_out = np.isin(subjects, held_out_subjects)
    return Fold(name=name, train=np.flatnonzero(~held_out), test=np.flatnonzero(held_out & evaluated))


class LeaveOneSubjectOut:
    """One fold per evaluated subject: that subject's clips are the test set, everything else trains."""

    def get_n_splits(self, table: SampleTable) -> int:
        return len(np.unique(table.samples["subject"].to_numpy()[evaluated_rows(table)]))

    def split(self, table: SampleTable) -> Iterator[Fold]:
        subjects = table.samples["subject"].to_numpy()
        evaluated = evaluated_rows(table)
        if len(set(subjects)) < 2:
            raise DataError(
                f"{table.name}: leave-one-subject-out needs at least 2 subjects, found {len(set(subjects))}"
            )
        for subject in sorted(set(subjects[evaluated])):
            yield _subject_fold(str(subject), subjects, [subject], evaluated)


class SubjectKFold:
    """``n_splits`` folds of whole subjects (seeded shuffle, then near-equal subject counts per fold).

    For databases with several near-identical images per subject (CK+: three frames of each sequence), a
    split by image would put the same face in training and test.
    """

    def __init__(self, n_splits: int = 10, seed: int = 0) -> None:
        if not _is_int(n_splits) or n_splits < 2:
            raise ConfigError(f"SubjectKFold needs a whole number of at least 2 splits, got {n_splits!r}")
        if not _is_int(seed) or seed < 0:  # numpy's generators take no negative seed
            raise ConfigError(f"SubjectKFold needs a whole-number seed of at least 0, got {seed!r}")
        self.n_splits = n_splits
        self.seed = seed

    def get_n_splits(self, table: SampleTable) -> int:
        return self.n_splits

    def split(self, table: SampleTable) -> Iterator[Fold]:
        subjects = table.samples["subject"].to_numpy()
        evaluated = evaluated_rows(table)
        unique = np.array(sorted(set(subjects[evaluated])))
        if len(unique) < self.n_splits:
            raise DataError(
                f"{table.name}: {self.n_splits}-fold by subject needs at least {self.n_splits} subjects, "
                f"found {len(unique)}"
            )
        shuffled = np.random.default_rng(self.seed).permutation(unique)
        width = len(str(self.n_splits))
        for index, held_out_subjects in enumerate(np.array_split(shuffled, self.n_splits), start=1):
            yield _subject_fold(f"fold{index:0{width}d}", subjects, held_out_subjects, evaluated)


class OfficialSplit:
    """A database's own train / validation / test split, read from a column of the table (FER-2013's
    ``split``: Training, PublicTest, PrivateTest). One fold, named after the test part.

    With roles, the parts are read from the evaluated rows; the training set adds every training-only row,
    and no row of a test subject trains.
    """

    def __init__(
        self,
        column: str = "split",
        train: str = "Training",
        validation: str | None = "PublicTest",
        test: str = "PrivateTest",
    ) -> None:
        for option, value in (("column", column), ("train", train), ("test", test), ("validation", validation)):
            if not isinstance(value, str) and not (option == "validation" and value is None):
                allowed = "a string or None" if option == "validation" else "a string"
                raise ConfigError(f"OfficialSplit {option} must be {allowed}, got {value!r}")
        self.column, self.train, self.validation, self.test = column, train, validation, test

    def get_n_splits(self, table: SampleTable) -> int:
        return 1

    def split(self, table: SampleTable) -> Iterator[Fold]:
        if self.column not in table.samples.columns:
            raise DataError(
                f"{table.name}: the official split reads column {self.column!r}, which this table lacks; "
                "only databases that ship a split (FER-2013) have it"
            )
        evaluated = evaluated_rows(table)
        column = table.samples[self.column]

        def rows_of(part: str) -> np.ndarray:
            return (column == part).to_numpy(dtype=bool) & evaluated

        wanted = [self.train, self.test] + ([self.validation] if self.validation else [])
        for part in wanted:
            if not rows_of(part).any():
                found = sorted(set(column[evaluated].dropna()))
                raise DataError(f"{table.name}: no rows with {self.column} == {part!r}; found {found}")
        train, test = rows_of(self.train), rows_of(self.test)
        if ROLE in table.samples.columns:
            subjects = table.samples["subject"].to_numpy()
            train = (train | ~evaluated) & ~np.isin(subjects, subjects[test])
        yield Fold(
            name=self.test,
            train=np.flatnonzero(train),
            test=np.flatnonzero(test),
            validation=np.flatnonzero(rows_of(self.validation)) if self.validation else None,
        )


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


SPLITTERS: dict[str, type] = {"loso": LeaveOneSubjectOut, "subject-kfold": SubjectKFold, "official": OfficialSplit}


def splitter_names() -> list[str]:
    return list(SPLITTERS)


def make_splitter(name: str, options: Mapping[str, object] | None = None) -> Splitter:
    """The splitter registered as ``name``, made with ``options`` (keyword arguments of its constructor)."""
    if name not in SPLITTERS:
        raise ConfigError(f"unknown splitter {name!r}; expected one of {splitter_names()}")
    splitter = SPLITTERS[name]
    valid = list(inspect.signature(splitter).parameters)
    options = dict(options or {})
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ConfigError(
            f"splitter {name!r}: unknown option(s) {unknown}; valid options: {valid or 'none (it takes no options)'}"
        )
    try:
        return splitter(**options)
    except ConfigError as error:
        raise ConfigError(f"splitter {name!r}: {error}; valid options: {valid}") from None


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
