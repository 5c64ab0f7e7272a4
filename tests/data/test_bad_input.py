"""Bad copies and sheets fail with a message that names the clip and the file, and says what to do."""

from __future__ import annotations

import pytest
from copies import CASME2_COLUMNS as COLUMNS
from copies import write_casme2, write_casme2_sheet

from microexp.data.casme2 import CASME2
from microexp.data.samm import SAMM
from microexp.errors import ConfigError, DataError, DataNotFoundError

CLIPS = [
    [1, "EP02_01f", 46, 59, 86, "12", "happiness"],
    [2, "EP01_11f", 46, 60, 75, "4", "repression"],
    [3, "EP06_01f", 10, 20, 30, "1+2", "surprise"],
]


def casme2_copy(tmp_path, clips=CLIPS, columns=COLUMNS):
    """A 3-subject CASME II copy: its sheet plus key frames in the raw layout."""
    if columns == COLUMNS:
        write_casme2(tmp_path, clips)
    else:
        write_casme2_sheet(tmp_path, clips, columns)
    return CASME2(tmp_path)


def test_generated_copy_loads(tmp_path):
    table = casme2_copy(tmp_path).load()
    assert table.class_counts() == {"happiness": 1, "disgust": 0, "repression": 1, "surprise": 1, "others": 0}
    assert all(len(frames) == 3 for frames in table.samples["frames"])


def test_missing_clip_folder_names_clip_and_folder(tmp_path):
    adapter = casme2_copy(tmp_path)
    for path in (tmp_path / "CASME2_RAW_selected" / "sub02" / "EP01_11f").iterdir():
        path.unlink()
    (tmp_path / "CASME2_RAW_selected" / "sub02" / "EP01_11f").rmdir()
    with pytest.raises(
        DataNotFoundError,
        match=r"CASME II clip sub02/EP01_11f \(CASME2-coding-20140508.xlsx\): "
        r"frame folder .*sub02/EP01_11f does not exist",
    ):
        adapter.load()


def test_clip_without_frames_names_clip_and_folder(tmp_path):
    adapter = casme2_copy(tmp_path)
    folder = tmp_path / "CASME2_RAW_selected" / "sub03" / "EP06_01f"
    for path in folder.iterdir():
        path.rename(path.with_suffix(".txt"))
    with pytest.raises(
        DataNotFoundError, match=r"clip sub03/EP06_01f .*frame folder .*EP06_01f holds no frame images"
    ):
        adapter.load()


def test_renamed_column_names_the_sheet_and_the_column(tmp_path):
    columns = [("Emotion" if c == "Estimated Emotion" else c) for c in COLUMNS]
    adapter = casme2_copy(tmp_path, columns=columns)
    with pytest.raises(
        DataError, match=r"CASME2-coding-20140508.xlsx lacks column\(s\) \['Estimated Emotion'\]"
    ):
        adapter.load()


def test_unknown_emotion_names_clip_sheet_and_known_words(tmp_path):
    clips = [*CLIPS[:2], [3, "EP06_01f", 10, 20, 30, "1+2", "joy"]]
    with pytest.raises(
        DataError, match=r"clip sub03/EP06_01f \(CASME2-coding-20140508.xlsx\): unknown emotion 'joy'"
    ):
        casme2_copy(tmp_path, clips=clips).load()


def test_apex_outside_onset_offset_without_a_fix_is_an_error(tmp_path):
    clips = [*CLIPS[:2], [3, "EP06_01f", 10, 40, 30, "1+2", "surprise"]]
    with pytest.raises(DataError, match=r"clip sub03/EP06_01f .*: apex 40 is outside onset–offset 10–30"):
        casme2_copy(tmp_path, clips=clips).load(frames=False)


def test_duplicated_clip_name_is_an_error(tmp_path):
    clips = [*CLIPS, CLIPS[0]]
    with pytest.raises(DataError, match=r"clip sub01/EP02_01f .*appears twice"):
        casme2_copy(tmp_path, clips=clips).load(frames=False)


def test_missing_sheet_and_unknown_label_map(tmp_path):
    with pytest.raises(
        DataNotFoundError, match=r"SAMM: annotation sheet .*SAMM_Micro_FACS_Codes_v2.xlsx does not exist"
    ):
        SAMM(tmp_path).load()
    with pytest.raises(ConfigError, match=r"give the database folder \(root\) or the annotation sheet"):
        SAMM().load()
    with pytest.raises(
        ConfigError, match=r"unknown label map '9class'; expected one of \['5class', 'megc2019'\]"
    ):
        casme2_copy(tmp_path).load("9class")


def test_check_collects_every_problem_instead_of_stopping(tmp_path):
    adapter = casme2_copy(tmp_path)
    (tmp_path / "CASME2_RAW_selected" / "sub01" / "EP02_01f" / "img59.jpg").write_bytes(b"not an image")
    (tmp_path / "CASME2_RAW_selected" / "sub03" / "EP06_01f" / "img30.jpg").unlink()
    report = adapter.check()
    assert len(report.problems) == 2
    assert "sub01/EP02_01f" in report.problems[0] and "img59.jpg is damaged" in report.problems[0]
    assert "sub03/EP06_01f" in report.problems[1] and "offset frame 30 is missing" in report.problems[1]
