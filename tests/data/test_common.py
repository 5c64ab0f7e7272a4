"""Checks every registered database adapter and every splitter must pass, on copies written at test time in
each vendor's layout (as tests/models runs every registered model)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from copies import (
    CK48_TEN,
    CK_TEN,
    FER_ROWS,
    JAFFE_FIVE,
    write_casme2,
    write_casme2long,
    write_casme3a,
    write_casme3c,
    write_ckplus,
    write_ckplus48,
    write_composite,
    write_dfme,
    write_fer_csv,
    write_jaffe,
    write_mmew,
    write_samm,
    write_sammlong,
    write_smic,
)

from conftest import write_tiny_megc2019
from microexp.data.base import LabelMap
from microexp.data.megc2019 import PARTS
from microexp.data.registry import DATASETS, open_dataset
from microexp.data.schema import COLUMNS, EVALUATE, ROLE, TRAIN, SampleTable, build_table, concat_tables
from microexp.data.splitters import SPLITTERS, Fold, evaluated_rows, make_splitter
from microexp.data.synthetic_long import LongVideoSettings, write_long_videos
from microexp.data.synthetic_render import SyntheticSettings
from microexp.data.synthetic_write import write_database
from microexp.errors import DataError


def _fer2013(root: Path) -> Path:
    write_fer_csv(root / "fer2013.csv", FER_ROWS)
    return root


BUILDERS: dict[str, Callable[[Path], Path]] = {
    "megc2019": write_tiny_megc2019,
    "casme2": write_casme2,
    "samm": write_samm,
    "smic": write_smic,
    "casme2long": write_casme2long,
    "sammlong": write_sammlong,
    "casme3a": write_casme3a,
    "casme3c": write_casme3c,
    "mmew": write_mmew,
    "dfme": write_dfme,
    "megc2019-composite": write_composite,
    "ckplus": lambda root: write_ckplus(root, CK_TEN),
    "ckplus-stills": lambda root: write_ckplus(root, CK_TEN),
    "ckplus48": lambda root: write_ckplus48(root, CK48_TEN),
    "jaffe": lambda root: write_jaffe(root, JAFFE_FIVE),
    "fer2013": _fer2013,
    "synthetic-long": lambda root: write_long_videos(
        root, LongVideoSettings(videos=2, seconds=5, fps=50, micro_expressions=1, head_turns=0,
                                macro_expressions=0, face_absences=0, blinks_per_minute=0)
    ),
    "synthetic": lambda root: write_database(root, SyntheticSettings(subjects=2, clips_per_class=1, fps=100)),
}
# A composite's rows carry the part they come from in ``dataset``, and so in their clip ids.
ROW_DATASETS = {"megc2019": set(PARTS), "megc2019-composite": set(PARTS)}
# Tables without frame files: the distributed composite ships flows, FER-2013 ships pixels.
WITHOUT_FRAMES = {"megc2019", "fer2013"}
ADAPTERS = sorted(DATASETS)


@pytest.fixture(scope="module")
def copy_of(tmp_path_factory) -> Callable[[str], Path]:
    """The root of a small copy of database ``name``, written once per module."""
    made: dict[str, Path] = {}

    def copy(name: str) -> Path:
        if name not in made:
            made[name] = BUILDERS[name](tmp_path_factory.mktemp(name))
        return made[name]

    return copy


def test_every_registered_adapter_has_a_copy_builder():
    assert set(BUILDERS) == set(DATASETS)


@pytest.mark.parametrize("name", ADAPTERS)
def test_adapter_declares_its_label_maps_and_a_valid_default_splitter(name):
    adapter = DATASETS[name]
    for attribute in ("label_maps", "default_label_map", "default_splitter"):
        assert attribute in vars(adapter), f"{adapter.__name__} must declare {attribute} itself"
    assert adapter.default_label_map in adapter.label_maps
    assert all(isinstance(m, LabelMap) and m.name == key for key, m in adapter.label_maps.items())
    assert adapter.default_splitter in SPLITTERS
    make_splitter(adapter.default_splitter, adapter.default_splitter_options)


@pytest.mark.parametrize("name", ADAPTERS)
def test_adapter_reads_its_vendor_layout_into_the_common_schema(name, copy_of):
    table = open_dataset(name, copy_of(name)).load()
    samples = table.samples
    assert len(table) > 0
    assert list(samples.columns[: len(COLUMNS)]) == list(COLUMNS)
    assert samples["clip_id"].is_unique
    assert set(samples["dataset"]) <= ROW_DATASETS.get(name, {name})
    for row in samples.itertuples():
        assert row.clip_id.startswith(f"{row.dataset}/") and row.clip_id.endswith(f"/{row.clip}")
        assert isinstance(row.subject, str) and row.subject
        assert isinstance(row.frames, tuple)
        assert all(Path(frame).is_file() for frame in row.frames)
        assert bool(row.frames) == (name not in WITHOUT_FRAMES)
    assert all(str(samples[phase].dtype) == "Int64" for phase in ("onset", "apex", "offset"))


@pytest.mark.parametrize("name", ADAPTERS)
def test_every_label_map_gives_its_classes(name, copy_of):
    adapter = open_dataset(name, copy_of(name))
    for key, label_map in adapter.label_maps.items():
        table = adapter.load(key)
        assert table.classes == label_map.classes
        assert len(table) > 0, f"the {name} copy has no clip that label map {key} keeps"
        assert ((table.labels >= 0) & (table.labels < len(table.classes))).all()
        for emotion, label in zip(table.samples["emotion"], table.labels, strict=True):
            if emotion in label_map.mapping:  # composites keep their parts' own words
                assert label_map.mapping[emotion] == table.classes[label]


def assert_valid_folds(table: SampleTable, folds: list[Fold], *, by_subject: bool) -> None:
    subjects = table.samples["subject"].to_numpy()
    assert len({fold.name for fold in folds}) == len(folds)
    for fold in folds:
        assert len(fold.test) and len(fold.train)
        assert not set(fold.train) & set(fold.test)
        if fold.validation is not None:
            assert not set(fold.validation) & (set(fold.train) | set(fold.test))
        if by_subject:
            assert not set(subjects[fold.train]) & set(subjects[fold.test])
    if by_subject:
        tested = np.sort(np.concatenate([fold.test for fold in folds]))
        assert tested.tolist() == np.flatnonzero(evaluated_rows(table)).tolist()  # each row once


@pytest.mark.parametrize("name", ADAPTERS)
def test_default_splitter_runs_on_the_copy(name, copy_of):
    adapter = open_dataset(name, copy_of(name))
    table = adapter.load()
    splitter = make_splitter(adapter.default_splitter, adapter.default_splitter_options)
    folds = list(splitter.split(table))
    assert len(folds) == splitter.get_n_splits(table)
    assert_valid_folds(table, folds, by_subject=adapter.default_splitter != "official")


# --- splitters ---------------------------------------------------------------------------------------------

# Options that fit the small tables below (subject k-fold's default of 10 needs 10 subjects).
SPLITTER_OPTIONS = {"loso": {}, "subject-kfold": {"n_splits": 3}, "official": {}}

# The folds the splitters made before roles existed, on GOLDEN_TABLE: (name, test rows). Predictions of
# earlier runs are matched to these folds, so they must never change.
GOLDEN_SUBJECTS = ["S3", "S1", "S2", "S7", "S1", "S5", "S4", "S6", "S3", "S2", "S7", "S5", "S1", "S6", "S4", "S2"]
GOLDEN_SPLITS = ["Training", "PublicTest", "PrivateTest", "Training"] * 4
GOLDEN = {
    "loso": [
        ("S1", [1, 4, 12]),
        ("S2", [2, 9, 15]),
        ("S3", [0, 8]),
        ("S4", [6, 14]),
        ("S5", [5, 11]),
        ("S6", [7, 13]),
        ("S7", [3, 10]),
    ],
    "subject-kfold": [("fold1", [0, 5, 6, 8, 11, 14]), ("fold2", [3, 7, 10, 13]), ("fold3", [1, 2, 4, 9, 12, 15])],
    "official": [("PrivateTest", [2, 6, 10, 14])],
}


def table_of(name: str, subjects: list[str], splits: list[str | None] | None = None, **columns) -> SampleTable:
    rows = [
        {
            "dataset": name,
            "subject": subject,
            "clip_id": f"{name}/{subject}/{i}",
            "clip": str(i),
            "label": i % 2,
            **({"split": splits[i]} if splits else {}),
            **{column: values[i] for column, values in columns.items()},
        }
        for i, subject in enumerate(subjects)
    ]
    return build_table(name, ("a", "b"), rows)


def roles_table() -> SampleTable:
    """Six evaluated subjects, each in one part of the official split (E1-E3 Training, E4 PublicTest,
    E5-E6 PrivateTest), and training-only rows of two other subjects and of E1 and E6 (databases can share
    people: CK+ and CK+48)."""
    parts = {"E1": "Training", "E2": "Training", "E3": "Training", "E4": "PublicTest"}
    parts |= {"E5": "PrivateTest", "E6": "PrivateTest"}
    evaluated = [subject for subject in parts for _ in range(3)]
    evaluate = table_of("eval", evaluated, [parts[s] for s in evaluated])
    train = table_of("extra", ["T1", "T1", "T2", "E1", "E6", "T2"])
    return concat_tables([train, evaluate], [TRAIN, EVALUATE], "mixed")


def test_every_splitter_is_checked():
    assert set(SPLITTER_OPTIONS) == set(GOLDEN) == set(SPLITTERS)


@pytest.mark.parametrize("name", sorted(SPLITTERS))
def test_without_roles_the_folds_are_those_of_earlier_runs(name):
    table = table_of("t", GOLDEN_SUBJECTS, GOLDEN_SPLITS)
    folds = list(make_splitter(name, SPLITTER_OPTIONS[name]).split(table))
    assert [(fold.name, fold.test.tolist()) for fold in folds] == GOLDEN[name]
    for fold in folds:
        if name == "official":
            assert fold.train.tolist() == [0, 3, 4, 7, 8, 11, 12, 15]
            assert fold.validation.tolist() == [1, 5, 9, 13]
        else:
            assert fold.train.tolist() == sorted(set(range(len(table))) - set(fold.test))
            assert fold.validation is None
    if name != "official":  # a role column in which every row is evaluated changes nothing
        evaluated = concat_tables([table], [EVALUATE], "t")
        again = list(make_splitter(name, SPLITTER_OPTIONS[name]).split(evaluated))
        assert [(f.name, f.train.tolist(), f.test.tolist()) for f in again] == [
            (f.name, f.train.tolist(), f.test.tolist()) for f in folds
        ]


@pytest.mark.parametrize("name", sorted(SPLITTERS))
def test_with_roles_only_evaluated_rows_are_tested_and_no_test_subject_trains(name):
    table = roles_table()
    samples = table.samples
    subjects, roles = samples["subject"].to_numpy(), samples[ROLE].to_numpy()
    folds = list(make_splitter(name, SPLITTER_OPTIONS[name]).split(table))
    assert folds
    for fold in folds:
        tested_subjects = set(subjects[fold.test])
        assert (roles[fold.test] == EVALUATE).all()
        assert not tested_subjects & set(subjects[fold.train])  # in any role
        others = np.flatnonzero((roles == TRAIN) & ~np.isin(subjects, list(tested_subjects)))
        assert set(others) <= set(fold.train)  # training-only rows of other subjects always train
        if name == "official":
            assert fold.test.tolist() == np.flatnonzero(samples["split"] == "PrivateTest").tolist()
            assert fold.validation.tolist() == np.flatnonzero(samples["split"] == "PublicTest").tolist()
        else:
            assert fold.train.tolist() == np.flatnonzero(~np.isin(subjects, list(tested_subjects))).tolist()
    if name == "loso":
        assert [fold.name for fold in folds] == ["E1", "E2", "E3", "E4", "E5", "E6"]
    if name != "official":
        assert_valid_folds(table, folds, by_subject=True)


@pytest.mark.parametrize("name", sorted(SPLITTERS))
def test_a_role_column_without_evaluated_rows_is_refused(name):
    table = roles_table()
    training_only = table.subset(table.samples[ROLE].to_numpy() == TRAIN)
    with pytest.raises(DataError, match="no row has role 'evaluate'"):
        list(make_splitter(name, SPLITTER_OPTIONS[name]).split(training_only))


def test_missing_parts_of_the_official_split_are_read_from_evaluated_rows_only():
    evaluate = table_of("eval", ["a", "b"], ["Training", "PrivateTest"])
    extra = table_of("extra", ["c"], ["PublicTest"])
    table = concat_tables([evaluate, extra], [EVALUATE, TRAIN], "mixed")
    with pytest.raises(DataError, match=r"no rows with split == 'PublicTest'; found \['PrivateTest', 'Training'\]"):
        list(make_splitter("official").split(table))
