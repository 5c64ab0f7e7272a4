"""Subject k-fold (CK+), the official split (FER-2013), and making splitters by name."""

from __future__ import annotations

import numpy as np
import pytest

from microexp.data.schema import build_table
from microexp.data.splitters import LeaveOneSubjectOut, OfficialSplit, SubjectKFold, make_splitter, splitter_names
from microexp.errors import ConfigError, DataError


def table_of(subjects: list[str], splits: list[str] | None = None):
    rows = [
        {
            "dataset": "t",
            "subject": s,
            "clip_id": f"t/{s}/{i}",
            "clip": str(i),
            "label": i % 2,
            **({"split": splits[i]} if splits else {}),
        }
        for i, s in enumerate(subjects)
    ]
    return build_table("t", ("a", "b"), rows)


@pytest.mark.parametrize(("n_subjects", "n_splits"), [(23, 10), (10, 10), (118, 10), (7, 3)])
def test_subject_kfold_never_puts_a_subject_in_two_folds(n_subjects, n_splits):
    rng = np.random.default_rng(n_subjects)
    subjects = [f"S{rng.integers(n_subjects):03d}" for _ in range(6 * n_subjects)]
    table = table_of(subjects)
    folds = list(SubjectKFold(n_splits, seed=3).split(table))
    assert len(folds) == n_splits
    tested = np.concatenate([f.test for f in folds])
    assert sorted(tested) == list(range(len(table)))  # every row tested exactly once
    names = table.samples["subject"].to_numpy()
    seen: dict[str, str] = {}
    for fold in folds:
        assert not set(names[fold.train]) & set(names[fold.test])
        for subject in set(names[fold.test]):
            assert seen.setdefault(subject, fold.name) == fold.name
    sizes = [len(set(names[f.test])) for f in folds]
    assert max(sizes) - min(sizes) <= 1  # subjects spread evenly


def test_subject_kfold_is_seeded_and_checks_its_input():
    table = table_of([f"S{i}" for i in range(20)])
    first = [f.test.tolist() for f in SubjectKFold(5, seed=1).split(table)]
    assert first == [f.test.tolist() for f in SubjectKFold(5, seed=1).split(table)]
    assert first != [f.test.tolist() for f in SubjectKFold(5, seed=2).split(table)]
    with pytest.raises(DataError, match="needs at least 30 subjects, found 20"):
        list(SubjectKFold(30).split(table))
    with pytest.raises(ConfigError, match="at least 2 splits"):
        SubjectKFold(1)


def test_official_split_keeps_public_test_for_validation_only():
    splits = ["Training"] * 5 + ["PublicTest"] * 2 + ["PrivateTest"] * 3
    table = table_of([f"x{i}" for i in range(10)], splits)
    (fold,) = OfficialSplit().split(table)
    assert fold.name == "PrivateTest"
    assert fold.train.tolist() == [0, 1, 2, 3, 4]
    assert fold.validation.tolist() == [5, 6]
    assert fold.test.tolist() == [7, 8, 9]
    with pytest.raises(DataError, match="lacks"):
        list(OfficialSplit().split(table_of(["a", "b"])))
    with pytest.raises(DataError, match="no rows with split == 'PublicTest'"):
        list(OfficialSplit().split(table_of(["a", "b"], ["Training", "PrivateTest"])))


def test_splitters_are_made_by_name_with_checked_options():
    assert splitter_names() == ["loso", "subject-kfold", "official"]
    splitter = make_splitter("subject-kfold", {"n_splits": 4, "seed": 2})
    assert isinstance(splitter, SubjectKFold) and (splitter.n_splits, splitter.seed) == (4, 2)
    assert isinstance(make_splitter("loso"), LeaveOneSubjectOut)
    assert make_splitter("official", {"validation": None}).validation is None
    names = r"\['loso', 'subject-kfold', 'official'\]"
    with pytest.raises(ConfigError, match=rf"unknown splitter 'kfold'; expected one of {names}"):
        make_splitter("kfold")
    options = r"valid options: \['n_splits', 'seed'\]"
    with pytest.raises(ConfigError, match=rf"'subject-kfold': unknown option\(s\) \['folds'\]; {options}"):
        make_splitter("subject-kfold", {"folds": 5})
    with pytest.raises(ConfigError, match=r"'loso': unknown option\(s\) \['seed'\]; valid options: none"):
        make_splitter("loso", {"seed": 1})


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("subject-kfold", {"n_splits": 1}, r"at least 2 splits, got 1"),
        ("subject-kfold", {"n_splits": 2.5}, r"at least 2 splits, got 2\.5"),
        ("subject-kfold", {"seed": "one"}, r"whole-number seed of at least 0, got 'one'"),
        ("subject-kfold", {"seed": -1}, r"whole-number seed of at least 0, got -1"),
        ("official", {"test": 3}, r"test must be a string, got 3"),
        ("official", {"validation": 0}, r"validation must be a string or None, got 0"),
    ],
)
def test_an_invalid_option_value_names_the_splitter_and_its_options(name, options, message):
    with pytest.raises(ConfigError, match=rf"splitter '{name}': .*{message}.*; valid options: \["):
        make_splitter(name, options)
