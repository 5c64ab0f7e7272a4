"""concat_tables: several databases in one table, some to evaluate, some to train on only."""

from __future__ import annotations

import numpy as np
import pytest
from copies import write_ckplus

from microexp.data.ckplus import CKPlus
from microexp.data.megc2019 import MEGC2019
from microexp.data.schema import COLUMNS, SampleTable, build_table, concat_tables
from microexp.data.splitters import make_splitter
from microexp.errors import ConfigError, DataError

THREE = ("negative", "positive", "surprise")


def table(name: str, subjects: list[str], classes=THREE, **columns) -> SampleTable:
    rows = [
        {
            "dataset": name,
            "subject": subject,
            "clip_id": f"{name}/{subject}/{i}",
            "clip": str(i),
            "label": i % len(classes),
            **{column: values[i] for column, values in columns.items()},
        }
        for i, subject in enumerate(subjects)
    ]
    return build_table(name, classes, rows)


def test_concat_marks_domain_and_role_and_keeps_every_column():
    micro = table("micro:3class", ["a", "b"], flow_path=["a.png", "b.png"], fps=[200, 100])
    macro = table("macro:megc3", ["S1", "S2", "S3"], split=["x", "y", "z"])
    both = concat_tables([micro, macro], ["evaluate", "train"], "micro+macro")
    samples = both.samples
    assert both.name == "micro+macro" and both.classes == THREE and len(both) == 5
    assert list(samples.columns) == [*COLUMNS, "domain", "role", "flow_path", "fps", "split"]
    assert list(samples["domain"]) == ["micro:3class"] * 2 + ["macro:megc3"] * 3
    assert list(samples["role"]) == ["evaluate"] * 2 + ["train"] * 3
    # a text column a table lacks is empty (None, which no caller mistakes for a path), a number column NA
    assert list(samples["flow_path"]) == ["a.png", "b.png", None, None, None]
    assert list(samples["split"]) == [None, None, "x", "y", "z"]
    assert str(samples["fps"].dtype) == "Int64" and samples["fps"].isna().tolist() == [False] * 2 + [True] * 3
    assert str(samples["onset"].dtype) == "Int64" and samples["label"].dtype == np.int64
    assert list(samples["clip_id"]) == [*micro.samples["clip_id"], *macro.samples["clip_id"]]


def test_concat_refuses_tables_with_other_classes_and_says_which_label_map_to_use():
    micro = table("megc2019", ["a"])
    ck = table("ckplus:7class", ["S1"], classes=CKPlus.label_maps["7class"].classes)
    with pytest.raises(
        DataError,
        match=r"table ckplus:7class has classes \['anger', .*\] but megc2019 has \['negative', 'positive', "
        r"'surprise'\]; load the training-only table with a label map onto the evaluated table's classes "
        r"\(for example ckplus with label map megc3",
    ):
        concat_tables([micro, ck], ["evaluate", "train"], "mixed")


def test_concat_checks_roles_and_clip_ids():
    a, b = table("a", ["x"]), table("b", ["y"])
    with pytest.raises(ConfigError, match=r"unknown role\(s\) \['test'\]; expected one of \['evaluate', 'train'\]"):
        concat_tables([a, b], ["evaluate", "test"], "mixed")
    with pytest.raises(ConfigError, match="no table has role 'evaluate'"):
        concat_tables([a, b], ["train", "train"], "mixed")
    with pytest.raises(ConfigError, match=r"one role per table.*2 table\(s\) and 1 role\(s\)"):
        concat_tables([a, b], ["evaluate"], "mixed")
    with pytest.raises(DataError, match=r"clip id a/x/0 is in both a and a"):
        concat_tables([a, a], ["evaluate", "train"], "mixed")
    both = concat_tables([a, b], ["evaluate", "train"], "mixed")
    with pytest.raises(DataError, match=r"table mixed already has column\(s\) \['domain', 'role'\]"):
        concat_tables([both, table("c", ["z"])], ["evaluate", "train"], "again")


def test_a_table_with_an_unknown_role_is_refused():
    rows = table("a", ["x", "y"]).samples.assign(role=["evaluate", "held-out"])
    with pytest.raises(DataError, match=r"unknown role\(s\) \['held-out'\] in column 'role'"):
        build_table("a", THREE, rows.to_dict("records"))


def test_ckplus_trains_every_fold_of_the_composite_without_being_tested(tmp_path, tiny_megc2019):
    """The use concat_tables exists for: macro-expressions (CK+ mapped onto the composite's classes) added to
    the training set of a micro-expression evaluation, which stays leave-one-subject-out of the composite."""
    write_ckplus(tmp_path / "ck", {(f"S{s:03d}", "001"): (code, 4) for s, code in ((10, 1), (11, 5), (12, 7))})
    composite = MEGC2019(tiny_megc2019).load()
    ck = CKPlus(tmp_path / "ck").load("megc3")
    both = concat_tables([composite, ck], ["evaluate", "train"], "megc2019+ckplus")
    ck_rows = np.flatnonzero(both.samples["role"] == "train")
    folds = list(make_splitter("loso").split(both))
    assert [fold.name for fold in folds] == composite.subjects
    for fold in folds:
        assert set(ck_rows) <= set(fold.train) and not set(ck_rows) & set(fold.test)
    assert sorted(np.concatenate([fold.test for fold in folds])) == list(range(len(composite)))
