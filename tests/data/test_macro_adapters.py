"""The macro-expression adapters (CK+, CK+48, JAFFE, FER-2013) against trees and files generated in each
release's layout, and CK+48 against the real folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import shared_path
from microexp.data.ckplus import CKPlus, CKPlus48
from microexp.data.fer2013 import FER2013
from microexp.data.jaffe import JAFFE
from microexp.data.registry import open_dataset
from microexp.errors import ConfigError, DataError, DataNotFoundError
from microexp.models.registry import InputSpec
from microexp.training.inputs import load_inputs

GREY48 = InputSpec("apex", channels=1, size=48)


def write_png(path: Path, value: int, size: tuple[int, int] = (64, 48)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full(size[::-1], value, dtype=np.uint8)).save(path)


def write_ckplus(root: Path, sequences: dict[tuple[str, str], tuple[int | None, int]]) -> None:
    """(subject, sequence) -> (emotion code or None for unlabelled, number of frames)."""
    for (subject, sequence), (code, n_frames) in sequences.items():
        for frame in range(1, n_frames + 1):
            write_png(
                root / "cohn-kanade-images" / subject / sequence / f"{subject}_{sequence}_{frame:08d}.png",
                frame,
            )
        if code is not None:
            label = root / "Emotion" / subject / sequence / f"{subject}_{sequence}_{n_frames:08d}_emotion.txt"
            label.parent.mkdir(parents=True, exist_ok=True)
            label.write_text(f"   {float(code):.7e}\n")


CK_TREE = {
    ("S005", "001"): (3, 11),
    ("S010", "002"): (5, 8),
    ("S010", "004"): (1, 6),
    ("S011", "001"): (None, 9),
}


def test_ckplus_official_tree_gives_last_three_frames_as_peak_and_first_as_neutral(tmp_path):
    write_ckplus(tmp_path, CK_TREE)
    seven = CKPlus(tmp_path).load()
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
    assert seven.samples["clip_id"].iloc[0].startswith("ckplus/S005/")
    assert seven.subjects == ["S005", "S010"]  # the unlabelled sequence of S011 is not used
    eight = CKPlus(tmp_path).load("8class")
    neutral = eight.samples[eight.samples["emotion"] == "neutral"]
    assert sorted(neutral["clip"]) == ["S005_001_00000001", "S010_002_00000001", "S010_004_00000001"]
    # The loader reads the image files: the peak frames were written with their frame number as grey value.
    x = load_inputs(seven, GREY48)
    assert x.shape == (9, 1, 48, 48) and sorted(x[:, 0, 0, 0].tolist()) == [4, 5, 6, 6, 7, 8, 9, 10, 11]


def test_ckplus_bad_label_file_is_named(tmp_path):
    write_ckplus(tmp_path, {("S005", "001"): (3, 5)})
    label = next((tmp_path / "Emotion").rglob("*_emotion.txt"))
    label.write_text("   9.0000000e+00\n")
    with pytest.raises(DataError, match=r"S005_001_00000005_emotion\.txt.*code 1\.\.7.*9\.0000000e\+00"):
        CKPlus(tmp_path).load()


def test_ckplus_label_without_frames_names_the_missing_folder(tmp_path):
    write_ckplus(tmp_path, {("S005", "001"): (3, 5)})
    for frame in (tmp_path / "cohn-kanade-images" / "S005" / "001").iterdir():
        frame.unlink()
    with pytest.raises(DataNotFoundError, match=r"cohn-kanade-images/S005/001 holds no frames"):
        CKPlus(tmp_path).load()


def write_ckplus48(root: Path, counts: dict[str, dict[str, int]]) -> None:
    """emotion -> subject -> number of sequences (three frames each)."""
    for index, (emotion, subjects) in enumerate(counts.items()):
        for subject, n_sequences in subjects.items():
            for sequence in range(10 * index + 1, 10 * index + n_sequences + 1):  # one emotion per sequence
                for frame in (10, 11, 12):
                    write_png(root / emotion / f"{subject}_{sequence:03d}_{frame:08d}.png", frame, (48, 48))


def test_ckplus48_generated_folder(tmp_path):
    write_ckplus48(tmp_path, {"anger": {"S010": 1, "S011": 2}, "surprise": {"S010": 1}})
    (tmp_path / "anger" / "Thumbs.db").write_text("not an image")
    table = CKPlus48(tmp_path).load()
    assert table.class_counts()["anger"] == 9 and table.class_counts()["surprise"] == 3
    assert table.subjects == ["S010", "S011"]
    assert load_inputs(table, GREY48).shape == (12, 1, 48, 48)
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
    x = load_inputs(table.subset(np.arange(5)), GREY48)
    assert x.shape == (5, 1, 48, 48) and x.max() > 100


JAFFE_NAMES = ["KA.AN1.39.tiff", "KA.HA2.30.tiff", "KL.NE1.155.tiff", "KL.SU3.166.tiff", "YM.DI1.64.tiff"]


def test_jaffe_names_give_subject_and_emotion(tmp_path):
    for index, name in enumerate(JAFFE_NAMES):
        Image.fromarray(np.full((256, 256), index * 10, dtype=np.uint8)).save(tmp_path / name)
    (tmp_path / "README").write_text("the release's notes")
    table = JAFFE(tmp_path).load()
    assert list(table.samples["emotion"]) == ["anger", "happy", "neutral", "surprise", "disgust"]
    assert table.subjects == ["KA", "KL", "YM"]
    assert table.samples["clip_id"].iloc[0] == "jaffe/KA/KA.AN1.39"
    assert load_inputs(table, GREY48)[:, 0, 0, 0].tolist() == [0, 10, 20, 30, 40]
    assert len(JAFFE(tmp_path).load("6class")) == 4


def test_jaffe_bad_name_is_named(tmp_path):
    Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(tmp_path / "KA.XX1.39.tiff")
    with pytest.raises(DataError, match=r"KA\.XX1\.39\.tiff is not named .* emotion code in"):
        JAFFE(tmp_path).load()
    with pytest.raises(ConfigError, match="there is no sheet"):
        JAFFE(tmp_path, sheet="labels.csv")


def test_jaffe_face_crop_from_a_full_photo(tmp_path):
    """crop_faces detects, aligns and crops: a real face photo (a CASME II frame saved as a JAFFE tiff)
    becomes a 48x48 grey crop whose centre is face, not background."""
    frame = np.asarray(Image.open(shared_path("frames", "casme2_sequence", "001.jpg")).convert("L"))
    canvas = np.full((frame.shape[0] + 120, frame.shape[1] + 120), 255, dtype=np.uint8)  # white margin
    canvas[60:-60, 60:-60] = frame
    Image.fromarray(canvas).save(tmp_path / "KA.HA1.29.tiff")
    table = JAFFE(tmp_path, crop_faces=True).load()
    crop = table.samples["apex_image"].iloc[0]
    assert crop.shape == (48, 48) and crop.dtype == np.uint8
    assert crop.mean() < 200  # the white margin was cut away
    assert load_inputs(table, GREY48).shape == (1, 1, 48, 48)


def write_fer_csv(path: Path, rows: list[tuple[int, str]]) -> list[np.ndarray]:
    """The official format: header emotion,pixels,Usage; 2304 space-separated values per row."""
    rng = np.random.default_rng(0)
    images, lines = [], ["emotion,pixels,Usage"]
    for emotion, usage in rows:
        image = rng.integers(0, 256, (48, 48), dtype=np.uint8)
        images.append(image)
        lines.append(f"{emotion},{' '.join(map(str, image.ravel()))},{usage}")
    path.write_text("\n".join(lines) + "\n")
    return images


FER_ROWS = [
    (0, "Training"),
    (3, "Training"),
    (6, "Training"),
    (3, "PublicTest"),
    (5, "PrivateTest"),
    (2, "PrivateTest"),
]


def test_fer2013_csv_pixels_labels_and_split(tmp_path):
    images = write_fer_csv(tmp_path / "fer2013.csv", FER_ROWS)
    table = FER2013(tmp_path).load()
    assert list(table.samples["emotion"]) == ["anger", "happy", "neutral", "happy", "surprise", "fear"]
    assert list(table.samples["split"]) == [usage for _, usage in FER_ROWS]
    x = load_inputs(table, GREY48)
    assert np.array_equal(x[4, 0], images[4].astype(np.float32))  # row-major 48x48, unchanged
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
