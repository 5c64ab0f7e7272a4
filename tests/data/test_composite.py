"""The MEGC2019 composite built from the three databases' own sheets reproduces the official list exactly."""

from __future__ import annotations

import csv
import warnings

import pytest

from conftest import shared_path
from microexp.data.casme2 import CASME2
from microexp.data.composite import MEGC2019Composite
from microexp.data.samm import SAMM
from microexp.data.smic import SMIC


@pytest.fixture
def composite() -> MEGC2019Composite:
    return MEGC2019Composite(
        casme2=CASME2(sheet=shared_path("annotations", "casme2", "CASME2-coding-20140508.xlsx")),
        samm=SAMM(sheet=shared_path("annotations", "samm", "SAMM_Micro_FACS_Codes_v2.xlsx")),
        smic=SMIC(sheet=shared_path("annotations", "smic", "smic_apex.xlsx")),
    )


def official_list() -> list[tuple[str, int]]:
    rows = []
    with shared_path("megc2019", "combined_3class_gt.csv").open(newline="") as handle:
        for dataset, subject, clip, label in csv.reader(handle):
            # SAMM subjects are unpadded in this file (6); SAMM's folders and our ids use 006.
            subject = subject.zfill(3) if dataset == "samm" else subject
            rows.append((f"{dataset}/{subject}/{clip}", int(label)))
    return rows


def test_composite_reproduces_the_official_list_exactly(composite):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = composite.load()
    official = official_list()
    assert len(official) == 442 and len(table) == 442
    assert sorted(zip(table.samples["clip_id"], table.samples["label"].tolist(), strict=True)) == sorted(
        official
    )
    assert table.class_counts() == {"negative": 250, "positive": 109, "surprise": 83}
    per_part = table.samples.groupby("dataset")["label"].value_counts().unstack().loc[:, [0, 1, 2]]
    assert per_part.loc["smic"].tolist() == [70, 51, 43]
    assert per_part.loc["casme2"].tolist() == [88, 32, 25]
    assert per_part.loc["samm"].tolist() == [92, 26, 15]
    assert len(table.subjects) == 68


def test_composite_exclusions_are_announced_with_reasons(composite):
    with pytest.warns(UserWarning) as caught:
        composite.load()
    messages = [str(w.message) for w in caught if "left out" in str(w.message)]
    assert len(messages) == 2
    assert any("sub04/EP12_01f" in m and "official list" in m for m in messages)
    assert any("sub05/EP09_05f" in m and "apex equals its onset" in m for m in messages)
