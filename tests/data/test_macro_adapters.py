"""The macro-expression adapters (CK+ sequences and stills, CK+48, JAFFE, FER-2013) against trees and files
generated in each release's layout, and CK+ and CK+48 against the real folders."""

from __future__ import annotations

import numpy as np
import pytest
from copies import CK_TEN, FER_ROWS, write_ckplus, write_ckplus48, write_fer_csv, write_jaffe, write_png
from PIL import Image

from conftest import shared_path
from microexp.data.base import frame_number
from microexp.data.ckplus import CKPlus, CKPlus48, CKPlusStills
from microexp.data.composite import CLASSES as COMPOSITE_CLASSES
from microexp.data.fer2013 import FER2013
from microexp.data.images import read_image
from microexp.data.jaffe import JAFFE
from microexp.data.megc2019 import MEGC2019
from microexp.data.registry import open_dataset
from microexp.data.splitters import make_splitter
from microexp.errors import ConfigError, DataError, DataNotFoundError
from microexp.inputs import InputSettings, InputSpec, load_inputs


def apex_faces(table) -> list[np.ndarray]:
    """Each row's apex face as a grey (H, W) array: the pixels the adapter holds, else its apex image file."""
    if "apex_image" in table.samples.columns:
        return [np.asarray(image) for image in table.samples["apex_image"]]
    return [
        read_image(path, mode="L", what=clip)[..., 0]
        for clip, path in zip(table.samples["clip_id"], table.samples["apex_path"], strict=True)
    ]


CK_TREE = {
    ("S005", "001"): (3, 11),
    ("S010", "002"): (5, 8),
    ("S010", "004"): (1, 6),
    ("S011", "001"): (None, 9),
}


def test_ckplus_reads_each_labelled_sequence_as_one_clip_from_neutral_to_peak(tmp_path):
    write_ckplus(tmp_path, CK_TREE)
    table = CKPlus(tmp_path).load()
    assert list(table.samples["clip_id"]) == ["ckplus/S005/001", "ckplus/S010/002", "ckplus/S010/004"]
    assert list(table.samples["emotion"]) == ["disgust", "happy", "anger"]
    assert table.subjects == ["S005", "S010"]  # the unlabelled sequence of S011 is not used
    for row, n_frames in zip(table.samples.itertuples(), (11, 8, 6), strict=True):
        assert [frame_number(f) for f in row.frames] == list(range(1, n_frames + 1))
        assert row.onset == 1 and row.apex == row.offset == n_frames
        assert row.apex_path == row.frames[-1]
    # Apex-image models read the peak face: frames were written with their frame number as grey value.
    assert [int(face[0, 0]) for face in apex_faces(table)] == [11, 8, 6]
    six = CKPlus(tmp_path).load("6class")
    assert six.classes == ("anger", "disgust", "fear", "happy", "sadness", "surprise")
    expected = r"unknown label map '8class'; expected one of \['6class', '7class', 'megc3'\]"
    with pytest.raises(ConfigError, match=expected):
        CKPlus(tmp_path).load("8class")  # a sequence shows one emotion, never neutral
    with pytest.raises(ConfigError, match="there is no sheet"):
        CKPlus(tmp_path, sheet="labels.csv")


def test_ckplus_check_finds_a_damaged_peak_frame(tmp_path):
    write_ckplus(tmp_path, CK_TREE)
    assert CKPlus(tmp_path).check().problems == []
    (tmp_path / "cohn-kanade-images" / "S010" / "002" / "S010_002_00000008.png").write_bytes(b"not a png")
    (problem,) = CKPlus(tmp_path).check().problems
    assert "CK+ clip S010/002" in problem and "S010_002_00000008.png is damaged" in problem


def test_ckplus_stills_give_last_three_frames_as_peak_and_first_as_neutral(tmp_path):
    write_ckplus(tmp_path, CK_TREE)
    seven = CKPlusStills(tmp_path).load()
    assert seven.class_counts() == {
        "anger": 3,
        "contempt": 0,
        "disgust": 3,
        "fear": 0,
        "happy": 3,
        "sadness": 0,
        "surprise": 0,
    }
    assert set(seven.samples["clip"]) >= {"S005_001_00000009", "S005_001_00000010", "S005_001_00000011"}
    assert seven.samples["clip_id"].iloc[0] == "ckplus-stills/S005/S005_001_00000009"
    assert seven.subjects == ["S005", "S010"]  # the unlabelled sequence of S011 is not used
    eight = CKPlusStills(tmp_path).load("8class")
    neutral = eight.samples[eight.samples["emotion"] == "neutral"]
    assert sorted(neutral["clip"]) == ["S005_001_00000001", "S010_002_00000001", "S010_004_00000001"]
    # The peak frames were written with their frame number as grey value.
    assert sorted(int(face[0, 0]) for face in apex_faces(seven)) == [4, 5, 6, 6, 7, 8, 9, 10, 11]
    assert all(row.frames == (row.apex_path,) for row in seven.samples.itertuples())


def test_ckplus_bad_label_file_is_named(tmp_path):
    write_ckplus(tmp_path, {("S005", "001"): (3, 5)})
    label = next((tmp_path / "Emotion").rglob("*_emotion.txt"))
    label.write_text("   9.0000000e+00\n")
    for adapter in (CKPlus, CKPlusStills):
        with pytest.raises(DataError, match=r"S005_001_00000005_emotion\.txt.*code 1\.\.7.*9\.0000000e\+00"):
            adapter(tmp_path).load()


def test_ckplus_label_without_frames_names_the_missing_folder(tmp_path):
    write_ckplus(tmp_path, {("S005", "001"): (3, 5)})
    for frame in (tmp_path / "cohn-kanade-images" / "S005" / "001").iterdir():
        frame.unlink()
    for adapter in (CKPlus, CKPlusStills):
        with pytest.raises(DataNotFoundError, match=r"cohn-kanade-images/S005/001 holds no frames"):
            adapter(tmp_path).load()


@pytest.mark.parametrize("adapter", [CKPlus, CKPlusStills, CKPlus48])
def test_megc3_maps_ck_emotions_onto_the_composite_classes(tmp_path, adapter):
    """anger, contempt, disgust, fear, sadness -> negative; happy -> positive; surprise -> surprise, in the
    MEGC2019 composite's class order."""
    emotions = ("anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise")
    if adapter is CKPlus48:
        write_ckplus48(tmp_path, {emotion: {"S010": 1} for emotion in emotions})
    else:
        write_ckplus(tmp_path, {("S010", f"{code:03d}"): (code, 4) for code in range(1, 8)})
    table = adapter(tmp_path).load("megc3")
    assert table.classes == MEGC2019.classes == COMPOSITE_CLASSES
    mapped = {e: table.classes[label] for e, label in zip(table.samples["emotion"], table.labels, strict=True)}
    assert mapped == {
        "anger": "negative",
        "contempt": "negative",
        "disgust": "negative",
        "fear": "negative",
        "happy": "positive",
        "sadness": "negative",
        "surprise": "surprise",
    }  # and the stills' neutral frames are dropped


def test_ckplus_sequences_split_by_subject(tmp_path):
    write_ckplus(tmp_path, CK_TEN)
    table = CKPlus(tmp_path).load()
    folds = list(make_splitter(CKPlus.default_splitter, CKPlus.default_splitter_options).split(table))
    assert len(folds) == 10 and sorted(np.concatenate([f.test for f in folds])) == list(range(len(table)))
    subjects = table.samples["subject"].to_numpy()
    assert all(not set(subjects[f.train]) & set(subjects[f.test]) for f in folds)


def test_ckplus_real_sequences():
    root = shared_path("macro", "ckplus_sequences")
    table = open_dataset("ckplus", root).load()
    assert len(table) == 40 and len(table.subjects) == 10
    assert table.class_counts() == {
        "anger": 4,
        "contempt": 0,
        "disgust": 9,
        "fear": 5,
        "happy": 8,
        "sadness": 5,
        "surprise": 9,
    }
    lengths = []
    for row in table.samples.itertuples():
        numbers = [frame_number(f) for f in row.frames]
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
        assert row.onset == numbers[0] and row.apex == row.offset == numbers[-1]
        assert row.apex_path == row.frames[-1]
        lengths.append(len(numbers))
    assert sum(lengths) == 684 and min(lengths) == 8 and max(lengths) == 45
    assert open_dataset("ckplus", root).check().problems == []
    folds = list(make_splitter("subject-kfold").split(table))
    assert [len(set(table.samples["subject"].iloc[f.test])) for f in folds] == [1] * 10


def test_ckplus48_generated_folder(tmp_path):
    write_ckplus48(tmp_path, {"anger": {"S010": 1, "S011": 2}, "surprise": {"S010": 1}})
    (tmp_path / "anger" / "Thumbs.db").write_text("not an image")
    table = CKPlus48(tmp_path).load()
    assert table.class_counts()["anger"] == 9 and table.class_counts()["surprise"] == 3
    assert table.subjects == ["S010", "S011"]
    assert all(face.shape == (48, 48) for face in apex_faces(table))
    assert CKPlus48(tmp_path).load("6class").classes == (
        "anger",
        "disgust",
        "fear",
        "happy",
        "sadness",
        "surprise",
    )


def test_ckplus48_badly_named_image_and_unknown_folder(tmp_path):
    write_ckplus48(tmp_path, {"anger": {"S010": 1}})
    write_png(tmp_path / "anger" / "face.png", 1)
    with pytest.raises(DataError, match=r"face\.png is not named <subject>_<sequence>_<frame>"):
        CKPlus48(tmp_path).load()
    (tmp_path / "anger" / "face.png").unlink()
    write_ckplus48(tmp_path, {"joy": {"S099": 1}})
    with pytest.raises(DataError, match=r"unknown emotion 'joy'"):
        CKPlus48(tmp_path).load()


def test_ckplus48_real_folder_counts():
    root = shared_path("macro", "ckplus48")
    table = open_dataset("ckplus48", root).load()
    assert table.class_counts() == {
        "anger": 135,
        "contempt": 54,
        "disgust": 177,
        "fear": 75,
        "happy": 207,
        "sadness": 84,
        "surprise": 249,
    }
    assert len(table) == 981 and len(table.subjects) == 118
    assert table.samples["clip_id"].is_unique
    faces = apex_faces(table.subset(np.arange(5)))
    assert all(face.shape == (48, 48) for face in faces) and max(face.max() for face in faces) > 100


JAFFE_NAMES = ["KA.AN1.39.tiff", "KA.HA2.30.tiff", "KL.NE1.155.tiff", "KL.SU3.166.tiff", "YM.DI1.64.tiff"]


def test_jaffe_names_give_subject_and_emotion(tmp_path):
    write_jaffe(tmp_path, JAFFE_NAMES)
    (tmp_path / "README").write_text("the release's notes")
    table = JAFFE(tmp_path).load()
    assert list(table.samples["emotion"]) == ["anger", "happy", "neutral", "surprise", "disgust"]
    assert table.subjects == ["KA", "KL", "YM"]
    assert table.samples["clip_id"].iloc[0] == "jaffe/KA/KA.AN1.39"
    assert [int(face[0, 0]) for face in apex_faces(table)] == [0, 10, 20, 30, 40]
    assert len(JAFFE(tmp_path).load("6class")) == 4


def test_jaffe_bad_name_is_named(tmp_path):
    Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(tmp_path / "KA.XX1.39.tiff")
    with pytest.raises(DataError, match=r"KA\.XX1\.39\.tiff is not named .* emotion code in"):
        JAFFE(tmp_path).load()
    with pytest.raises(ConfigError, match="there is no sheet"):
        JAFFE(tmp_path, sheet="labels.csv")


def test_jaffe_face_crop_from_a_full_photo(tmp_path):
    """A JAFFE table keeps the whole photo and declares it a full photograph, so by default the apex builder
    detects, aligns and crops its face: a real face photo (a CASME II frame on a wide white margin, saved as
    a JAFFE tiff) becomes a 48x48 grey crop of face, not background; still_faces="as-given" keeps it whole."""
    frame = np.asarray(Image.open(shared_path("frames", "casme2_sequence", "001.jpg")).convert("L"))
    canvas = np.pad(frame, 280, constant_values=255)  # mostly white margin, so a crop that kept it would show
    (tmp_path / "jaffe").mkdir()
    Image.fromarray(canvas).save(tmp_path / "jaffe" / "KA.HA1.29.tiff")
    table = JAFFE(tmp_path / "jaffe").load()
    assert "apex_image" not in table.samples.columns  # loading detects no face
    apex = {"apex": InputSpec("apex", (1, 48, 48))}
    assert table.samples["face_geometry"].tolist() == ["detect"]
    whole = load_inputs(table, apex, InputSettings(still_faces="as-given"), cache_dir=tmp_path / "cache")["apex"]
    face = load_inputs(table, apex, InputSettings(), cache_dir=tmp_path / "cache")["apex"]
    explicit = load_inputs(table, apex, InputSettings(still_faces="detect"), cache_dir=tmp_path / "cache")["apex"]
    np.testing.assert_array_equal(face, explicit)
    assert face.shape == (1, 1, 48, 48) and face.dtype == np.float32
    assert face.min() >= 0 and face.max() <= 255 and np.array_equal(face, face.round())  # grey levels, as read
    assert whole.mean() > 230  # as given, the photo is resized whole, margin included
    assert face.mean() < 200  # the white margin was cut away


def test_fer2013_csv_pixels_labels_and_split(tmp_path):
    images = write_fer_csv(tmp_path / "fer2013.csv", FER_ROWS)
    table = FER2013(tmp_path).load()
    assert list(table.samples["emotion"]) == ["anger", "happy", "neutral", "happy", "surprise", "fear"]
    assert list(table.samples["split"]) == [usage for _, usage in FER_ROWS]
    assert np.array_equal(apex_faces(table)[4], images[4])  # row-major 48x48, unchanged
    assert table.samples["clip_id"].is_unique and len(table.subjects) == len(FER_ROWS)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("7,{pixels},Training", r"fer2013\.csv line 2: emotion '?7'? is not a code 0\.\.6"),
        ("3,1 2 3,Training", r"fer2013\.csv line 2: pixels must be 2304 .* found 3 values"),
        ("3,{pixels},Validation", r"fer2013\.csv line 2: Usage 'Validation' is not one of"),
    ],
)
def test_fer2013_bad_rows_are_named(tmp_path, line, message):
    pixels = " ".join(["0"] * 2304)
    (tmp_path / "fer2013.csv").write_text("emotion,pixels,Usage\n" + line.format(pixels=pixels) + "\n")
    with pytest.raises(DataError, match=message):
        FER2013(tmp_path).load()


def test_fer2013_missing_csv_and_missing_column(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"fer2013\.csv does not exist"):
        FER2013(tmp_path).load()
    (tmp_path / "fer2013.csv").write_text("emotion,pixels\n0,1\n")
    with pytest.raises(DataError, match=r"lacks column\(s\) \['Usage'\]"):
        FER2013(tmp_path).load()


def test_check_reports_a_damaged_image(tmp_path):
    write_ckplus48(tmp_path, {"anger": {"S010": 1}})
    next((tmp_path / "anger").iterdir()).write_bytes(b"not a png")
    report = CKPlus48(tmp_path).check()
    assert len(report.problems) == 1 and "is damaged" in report.problems[0]
