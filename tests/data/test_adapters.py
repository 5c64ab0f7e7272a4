"""Every adapter against its real annotation sheet, with a frame tree generated in the vendor's layout."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
from frames import write_key_frames

from conftest import shared_path
from microexp.data.base import frame_number, numbered_frames
from microexp.data.casme2 import CASME2
from microexp.data.casme3 import CASME3PartA, CASME3PartC
from microexp.data.dfme import DFME, SHEETS
from microexp.data.mmew import MMEW
from microexp.data.samm import SAMM
from microexp.data.smic import SMIC
from microexp.errors import DataError


def sheet(*parts: str) -> Path:
    return shared_path("annotations", *parts)


def quiet_load(adapter, label_map=None, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return adapter.load(label_map, **kwargs)


def assert_frames_match(table) -> None:
    """Every clip has frames, in order, starting at its onset (the generator wrote onset, apex, offset)."""
    for onset, offset, frames in zip(
        table.samples["onset"], table.samples["offset"], table.samples["frames"], strict=True
    ):
        numbers = [frame_number(f) for f in frames]
        assert numbers == sorted(numbers) and numbers[0] == onset
        assert pd.isna(offset) or numbers[-1] == offset


def test_frame_number_is_the_number_that_ends_the_file_name(tmp_path):
    assert [frame_number(n) for n in ("img46.jpg", "reg_img012.jpg", "006_05562.jpg", "15.jpg")] == [46, 12, 5562, 15]
    assert frame_number(Path("S005") / "001" / "S005_001_00000011.png") == 11
    for name in ("apex.jpg", "img46_flow.jpg"):  # a number inside the name is not the frame's
        with pytest.raises(DataError, match=rf"frame {name}: no frame number ends its name"):
            frame_number(name)
    for name in ("img9.jpg", "img10.png", "img46_flow.jpg", "cover.jpg", "img3.txt"):
        (tmp_path / name).write_bytes(b"")
    assert numbered_frames(tmp_path) == [(9, tmp_path / "img9.jpg"), (10, tmp_path / "img10.png")]


CASME2_2014 = ("casme2", "CASME2-coding-20140508.xlsx")
CASME2_2019 = ("casme2", "CASME2-coding-20190701.xlsx")


def test_casme2_5class_counts_from_the_2014_sheet():
    table = quiet_load(CASME2(sheet=sheet(*CASME2_2014)))
    assert table.class_counts() == {
        "happiness": 32,
        "disgust": 63,
        "repression": 27,
        "surprise": 25,
        "others": 99,
    }
    assert len(table) == 246 and len(table.subjects) == 26
    assert table.samples["frames"].map(len).eq(0).all()  # annotations only


def test_casme2_2019_sheet_fixes_the_slash_apex_with_a_warning():
    with pytest.warns(UserWarning, match=r"sub04/EP12_01f .*apex '/' -> 300"):
        table = CASME2(sheet=sheet(*CASME2_2019)).load()
    row = table.samples.set_index("clip_id").loc["casme2/sub04/EP12_01f"]
    assert row["apex"] == 300
    # The 2019 revision relabels three sub24 clips from sadness to surprise.
    assert table.class_counts()["surprise"] == 28


def test_casme2_onset_equal_to_apex_is_reported():
    with pytest.warns(UserWarning, match=r"apex equal to onset: sub05/EP09_05f"):
        CASME2(sheet=sheet(*CASME2_2014)).load()


@pytest.mark.parametrize(("layout", "pattern"), [("raw", "img{}.jpg"), ("cropped", "reg_img{}.jpg")])
def test_casme2_frames_in_raw_and_cropped_layouts(tmp_path, layout, pattern):
    adapter = CASME2(tmp_path, sheet=sheet(*CASME2_2014), layout=layout)
    write_key_frames(adapter, lambda row, n: pattern.format(n))
    table = quiet_load(adapter)
    assert len(table) == 246
    first = Path(table.samples["frames"][0][0])
    folder = "CASME2_RAW_selected" if layout == "raw" else "Cropped"
    assert first.relative_to(tmp_path).as_posix() == f"{folder}/sub01/EP02_01f/{pattern.format(46)}"
    assert_frames_match(table)


def test_samm_5class_counts_fixes_and_frames(tmp_path):
    adapter = SAMM(tmp_path, sheet=sheet("samm", "SAMM_Micro_FACS_Codes_v2.xlsx"))
    write_key_frames(adapter, lambda row, n: f"{row['subject']}_{n:05d}.jpg")
    with pytest.warns(UserWarning) as caught:
        table = adapter.load()
    fixed = " ".join(str(w.message) for w in caught)
    assert "032/032_3_1" in fixed and "028/028_4_1" in fixed
    assert table.class_counts() == {"anger": 57, "contempt": 12, "happiness": 26, "surprise": 15, "other": 26}
    assert Path(table.samples["frames"][0][0]).relative_to(tmp_path).as_posix() == "006/006_1_2/006_05562.jpg"
    assert_frames_match(table)


def test_smic_sheet_counts_and_frames(tmp_path):
    adapter = SMIC(tmp_path, sheet=sheet("smic", "smic_apex.xlsx"))
    write_key_frames(adapter, lambda row, n: f"image{n}.bmp")
    table = adapter.load()
    assert table.class_counts() == {"negative": 70, "positive": 51, "surprise": 43}
    assert len(table.subjects) == 16
    clip = table.samples.set_index("clip_id").loc["smic/s1/s1_ne_01"]
    assert Path(clip["frames"][0]).relative_to(tmp_path).parts[:4] == ("s1", "micro", "negative", "s1_ne_01")


def test_smic_without_a_sheet_reads_clips_from_the_folder_tree(tmp_path):
    for subject, emotion, clip in [
        ("s1", "negative", "s1_ne_01"),
        ("s2", "positive", "s2_po_01"),
        ("s3", "surprise", "s3_sur_02"),
    ]:
        folder = tmp_path / subject / "micro" / emotion / clip
        folder.mkdir(parents=True)
        for number in (90823, 90824):
            (folder / f"image{number:06d}.bmp").write_bytes(b"")
    table = SMIC(tmp_path).load()
    assert table.class_counts() == {"negative": 1, "positive": 1, "surprise": 1}
    assert table.samples["onset"].isna().all()
    assert [frame_number(f) for f in table.samples["frames"][0]] == [90823, 90824]


CASME3A_SHEET = ("casme3", "annotation", "partA", "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx")


def test_casme3_part_a_label_map_counts():
    adapter = CASME3PartA(sheet=sheet(*CASME3A_SHEET))
    counts = {name: quiet_load(adapter, name).class_counts() for name in ("7class", "4class", "3class")}
    assert counts["7class"] == {
        "anger": 64,
        "disgust": 250,
        "fear": 86,
        "happy": 55,
        "others": 161,
        "sad": 57,
        "surprise": 187,
    }
    assert counts["4class"] == {"negative": 457, "positive": 55, "surprise": 187, "others": 161}
    assert counts["3class"] == {"negative": 457, "positive": 55, "surprise": 187}


def test_casme3_part_a_fixes_come_from_the_full_sheet_and_frames_span_onset_to_offset(tmp_path):
    adapter = CASME3PartA(tmp_path, sheet=sheet(*CASME3A_SHEET))
    write_key_frames(adapter, lambda row, n: f"{n}.jpg")
    # A frame outside the clip in the same recording must not be picked up.
    (tmp_path / "spNO.1" / "a" / "color" / "9999.jpg").write_bytes(b"")
    with pytest.warns(UserWarning, match=r"spNO.216/d_3647 \(.*\): onset 3647 -> 2647"):
        table = adapter.load()
    assert len(table) == 860 and len(table.subjects) == 94
    clip = table.samples.set_index("clip_id").loc["casme3a/spNO.1/a_355"]
    assert [frame_number(f) for f in clip["frames"]] == [355, 359, 360]
    assert Path(clip["frames"][0]).relative_to(tmp_path).as_posix() == "spNO.1/a/color/355.jpg"


def test_casme3_part_c_counts():
    adapter = CASME3PartC(sheet=sheet("casme3", "annotation", "partC", "CAS(ME)3_part_C_ME.xlsx"))
    assert adapter.load("4class").class_counts() == {
        "negative": 99,
        "positive": 16,
        "surprise": 30,
        "others": 20,
    }
    assert len(adapter.load("3class")) == 145


def test_mmew_counts_and_frames(tmp_path):
    adapter = MMEW(tmp_path, sheet=sheet("mmew", "HTNet_MMEW_Micro_Exp_delete_others.csv"))
    write_key_frames(adapter, lambda row, n: f"{n}.jpg")
    table = adapter.load()
    assert table.class_counts() == {
        "anger": 8,
        "disgust": 72,
        "fear": 16,
        "happiness": 36,
        "sadness": 13,
        "surprise": 89,
    }
    rel = Path(table.samples["frames"][0][1]).relative_to(tmp_path).as_posix()
    assert rel == "Micro_Expression/happiness/S01-01-001/15.jpg"  # the derived list's own apex image name
    assert MMEW(sheet=adapter.sheets).load("3class").class_counts() == {
        "negative": 109,
        "positive": 36,
        "surprise": 89,
    }


def test_dfme_7class_counts_over_the_three_sheets(tmp_path):
    sheets = [sheet("dfme", name) for name in SHEETS]
    table = DFME(sheet=sheets).load()
    assert table.class_counts() == {
        "anger": 241,
        "contempt": 171,
        "disgust": 735,
        "fear": 365,
        "happiness": 311,
        "sadness": 359,
        "surprise": 447,
    }
    assert len(table.subjects) == 259
    assert table.samples["split"].value_counts().to_dict() == {"training": 1856, "testA": 474, "testB": 299}


@pytest.mark.slow
def test_dfme_frames(tmp_path):
    adapter = DFME(tmp_path, sheet=[sheet("dfme", name) for name in SHEETS])
    write_key_frames(adapter, lambda row, n: f"{n}.jpg")
    assert_frames_match(adapter.load())
