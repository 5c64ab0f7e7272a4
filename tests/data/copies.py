"""Small copies of each database in its vendor's layout, written at test time: the annotation sheet (or the
folder tree that stands for one) and the frames an adapter reads. Three subjects each, except where the
database's default splitter needs more (CK+: 10-fold by subject; JAFFE: 5-fold)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from frames import write_key_frames
from PIL import Image

from microexp.data.casme2 import CASME2, SHEET_2014
from microexp.data.casme2_long import SHEET as CASME2LONG_SHEET
from microexp.data.casme3 import SHEET_A, SHEET_C, CASME3PartA, CASME3PartC
from microexp.data.dfme import DFME
from microexp.data.dfme import SHEETS as DFME_SHEETS
from microexp.data.mmew import MMEW
from microexp.data.mmew import SHEET as MMEW_SHEET
from microexp.data.samm import HEADER_ROW as SAMM_HEADER_ROW
from microexp.data.samm import SAMM
from microexp.data.samm import SHEET as SAMM_SHEET

CASME2_COLUMNS = [
    "Subject",
    "Filename",
    "OnsetFrame",
    "ApexFrame",
    "OffsetFrame",
    "Action Units",
    "Estimated Emotion",
]
# Every emotion the megc2019 label map keeps, and "others", which only 5class keeps.
CASME2_CLIPS = [
    [1, "EP02_01f", 46, 59, 86, "12", "happiness"],
    [1, "EP03_02", 131, 139, 161, "18", "others"],
    [2, "EP01_11f", 46, 60, 75, "4", "disgust"],
    [2, "EP19_05f", 100, 110, 120, "14", "repression"],
    [3, "EP06_01f", 10, 20, 30, "1+2", "surprise"],
    [3, "EP07_04", 5, 9, 15, "4+7", "disgust"],
]


def write_png(path: Path, value: int, size: tuple[int, int] = (64, 48)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full(size[::-1], value, dtype=np.uint8)).save(path)


def write_all_key_frames(adapter, name) -> None:
    """Key frames of the clips of every label map, so that each map loads with its frames."""
    for label_map in adapter.label_maps:
        write_key_frames(adapter, name, label_map)


def write_casme2_sheet(root: Path, clips=CASME2_CLIPS, columns=CASME2_COLUMNS) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(clips, columns=columns).to_excel(root / SHEET_2014, index=False)
    return root


def write_casme2(root: Path, clips=CASME2_CLIPS) -> Path:
    """CASME II raw layout: the 2014 coding sheet and CASME2_RAW_selected/sub01/EP02_01f/img46.jpg."""
    write_casme2_sheet(root, clips)
    write_all_key_frames(CASME2(root), lambda row, n: f"img{n}.jpg")
    return root


def write_samm(root: Path) -> Path:
    """The v2 FACS codes sheet (13 lines of notes, the header on row 14) and 006/006_1_2/006_05562.jpg."""
    header = ["Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame", "Duration"]
    header += ["Micro", "Action Units", "Estimated Emotion", "Objective Classes", "Notes"]
    clips = [
        [6, "006_1_2", 1, 5562, 5588, 5632, 71, "Micro - 1/2", "4+7", "anger", 4, ""],
        [6, "006_1_3", 1, 3912, 3948, 3988, 77, "Micro - 1/2", "12", "happiness", 1, ""],
        [7, "007_3_1", 3, 1000, 1010, 1030, 31, "Micro - 1/2", "1+2", "surprise", 2, ""],
        [7, "007_5_2", 5, 200, 215, 240, 41, "Micro - 1/2", "9", "disgust", 3, ""],
        [9, "009_2_1", 2, 740, 752, 770, 31, "Micro - 1/2", "14", "contempt", 5, ""],
        [9, "009_6_1", 6, 80, 92, 110, 31, "Micro - 1/2", "2", "other", 7, ""],
    ]
    root.mkdir(parents=True, exist_ok=True)
    notes = pd.DataFrame([["SAMM Dataset - Master FACS Codes"]] + [[""]] * (SAMM_HEADER_ROW - 1))
    with pd.ExcelWriter(root / SAMM_SHEET) as writer:
        notes.to_excel(writer, header=False, index=False)
        pd.DataFrame(clips, columns=header).to_excel(writer, startrow=SAMM_HEADER_ROW, index=False)
    write_all_key_frames(SAMM(root), lambda row, n: f"{row['subject']}_{n:05d}.jpg")
    return root


SMIC_CLIPS = [
    ("s1", "negative", "s1_ne_01"),
    ("s1", "positive", "s1_po_02"),
    ("s2", "surprise", "s2_sur_01"),
    ("s2", "negative", "s2_ne_03"),
    ("s3", "positive", "s3_po_01"),
    ("s3", "surprise", "s3_sur_02"),
]


def write_smic(root: Path, clips=SMIC_CLIPS) -> Path:
    """The SMIC-HS folder tree, which holds the labels: s1/micro/negative/s1_ne_01/image090823.bmp."""
    for subject, emotion, clip in clips:
        folder = root / subject / "micro" / emotion / clip
        folder.mkdir(parents=True)
        for number in (90823, 90824, 90825):
            write_png(folder / f"image{number:06d}.bmp", 128, (4, 4))
    return root


def write_casme2long(root: Path) -> Path:
    """CAS(ME)^2: the code sheet with its two naming-rule sheets, and the long recordings' frames."""
    codes = pd.DataFrame(
        [
            [1, "disgust1_1", 557, 572, 608, "4", "negative", "micro-expression", "disgust"],
            [1, "disgust1_2", 1000, 1020, 1200, "4+7", "negative", "macro-expression", "disgust"],
            [2, "anger1_1", 10, 12, 20, "12", "positive", "micro-expression", "happy"],
        ]
    )
    root.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(root / CASME2LONG_SHEET) as writer:
        codes.to_excel(writer, sheet_name="CASFEcode_final", header=False, index=False)
        pd.DataFrame([["s15", 15, 1], ["s16", 16, 2]]).to_excel(
            writer, sheet_name="naming rule1", header=False, index=False
        )
        pd.DataFrame([[101, "disgust1"], [401, "anger1"]]).to_excel(
            writer, sheet_name="naming rule2", header=False, index=False
        )
    for folder, numbers in [
        ("s15/15_0101disgustingteeth", range(550, 615)),
        ("s16/16_0401angrywhole", range(5, 25)),
    ]:
        path = root / "rawpic" / folder
        path.mkdir(parents=True)
        for number in numbers:
            (path / f"img{number}.jpg").write_bytes(b"")
    return root


SAMMLONG_ROWS = [
    # Subject, Filename, Inducement Code, Onset, Apex, Offset, Duration, Type, Action Units, Notes
    [6, "006_1_1", 1, 101, 110, 140, 40, "Micro - 1/2", "R12", ""],
    [6, "006_1_2", 1, 300, 350, 600, 301, "Macro", "4+7", ""],
    [6, "006_1_3", 1, 0, 450, 470, 0, "Micro - 1/2", "1+2", "onset not coded"],
    [7, "007_3_1", 3, 21, 30, 0, 0, "Micro - 1/2", "L14", "offset not coded"],
]


def write_sammlong(root: Path, rows=SAMMLONG_ROWS, frames=None) -> Path:
    """SAMM long videos: the V3 sheet (nine lines of notes, then the header) and three recordings, one of
    them without a micro-expression."""
    from microexp.data.samm_long import COLUMNS, HEADER_ROW, SHEET_NAME, SHEETS

    header = ["Subject", "Filename", "Inducement Code", "Onset", "Apex", "Offset", "Duration", "Type",
              "Action Units", "Notes"]
    assert set(COLUMNS) <= set(header)
    notes = [[f"note {i}"] + [None] * (len(header) - 1) for i in range(HEADER_ROW)]
    root.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(root / SHEETS[0]) as writer:
        pd.DataFrame([*notes, header, *rows]).to_excel(writer, sheet_name=SHEET_NAME, header=False, index=False)
    frames = frames or {"006_1": range(1, 701), "007_3": range(1, 61), "007_4": range(1, 31)}
    for recording, numbers in frames.items():
        folder = root / "SAMM_longvideos" / recording
        folder.mkdir(parents=True)
        for number in numbers:
            (folder / f"{recording}_{number:04d}.jpg").write_bytes(b"")
    return root


def write_casme3a(root: Path) -> Path:
    """CAS(ME)^3 Part A: the ME label sheet and spNO.1/a/color/355.jpg (frames of the long recordings)."""
    clips = [
        ["spNO.1", "a", 355, 359, 360, "5", "II", "others"],
        ["spNO.1", "b", 166, 175, 179, "4", "III", "disgust"],
        ["spNO.2", "a", 62, 68, 96, "R12", "I", "happy"],
        ["spNO.2", "c", 10, 14, 20, "1+2", "V", "surprise"],
        ["spNO.3", "d", 300, 305, 320, "4", "III", "anger"],
        ["spNO.3", "d", 500, 510, 530, "15", "IV", "sad"],
        ["spNO.3", "e", 40, 45, 50, "20", "VI", "fear"],
    ]
    root.mkdir(parents=True, exist_ok=True)
    columns = ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion"]
    pd.DataFrame(clips, columns=columns).to_excel(root / SHEET_A, index=False)
    write_all_key_frames(CASME3PartA(root), lambda row, n: f"{n}.jpg")
    return root


def write_casme3c(root: Path) -> Path:
    """CAS(ME)^3 Part C: the ME sheet (no apex) and 1/color/373.jpg."""
    clips = [
        [1, 1, 373, 385, "R4,5", "negative"],
        [1, 2, 6450, 6464, "R2,7", "surprise"],
        [2, 1, 100, 120, "12", "positive"],
        [2, 2, 7108, 7121, "2,24", "others"],
        [3, 1, 50, 60, "4", "negative"],
    ]
    root.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(clips, columns=["sub", "count", "onset", "offset", "au", "emotion"]).to_excel(
        root / SHEET_C, index=False
    )
    write_all_key_frames(CASME3PartC(root), lambda row, n: f"{n}.jpg")
    return root


def write_mmew(root: Path) -> Path:
    """MMEW: the sheet and Micro_Expression/happiness/S01-01-001/15.jpg."""
    clips = [
        [1, "S01-01-001", 1, 15, 31, "6+12", "happiness"],
        [1, "S01-02-001", 1, 9, 20, "4", "disgust"],
        [2, "S02-03-001", 1, 7, 23, "1+2", "surprise"],
        [2, "S02-04-001", 1, 5, 12, "4+7", "anger"],
        [3, "S03-05-001", 1, 6, 14, "15", "sadness"],
        [3, "S03-06-001", 1, 8, 16, "20", "fear"],
        [3, "S03-07-001", 1, 4, 10, "14", "others"],
    ]
    root.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(clips, columns=CASME2_COLUMNS).to_excel(root / MMEW_SHEET, index=False)
    write_all_key_frames(MMEW(root), lambda row, n: f"{n}.jpg")
    return root


def write_dfme(root: Path) -> Path:
    """DFME: the training, test A and test B sheets (one subject each) and sub0008_01/95.jpg."""
    columns = ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Emotion", "EmotionId", "Fps", "AU"]
    by_sheet = {
        DFME_SHEETS[0]: [
            ["sub0003", "sub0003_01", 0, 95, 195, "happiness", 4, 500, "12"],
            ["sub0003", "sub0003_02", 0, 40, 90, "anger", 0, 200, "4"],
            ["sub0003", "sub0003_03", 0, 30, 60, "contempt", 1, 200, "L14"],
        ],
        DFME_SHEETS[1]: [
            ["sub0008", "sub0008_01", 0, 113, 199, "disgust", 2, 500, "9"],
            ["sub0008", "sub0008_02", 0, 108, 209, "sadness", 5, 500, "15"],
        ],
        DFME_SHEETS[2]: [
            ["sub0012", "sub0012_01", 0, 50, 100, "fear", 3, 300, "20"],
            ["sub0012", "sub0012_02", 0, 60, 120, "surprise", 6, 300, "1+2"],
        ],
    }
    root.mkdir(parents=True, exist_ok=True)
    for sheet, clips in by_sheet.items():
        pd.DataFrame(clips, columns=columns).to_excel(root / sheet, index=False)
    write_all_key_frames(DFME(root), lambda row, n: f"{n}.jpg")
    return root


def write_composite(root: Path) -> Path:
    """The composite's three copies: CASME2/, SAMM/ and SMIC/HS/."""
    write_casme2(root / "CASME2")
    write_samm(root / "SAMM")
    write_smic(root / "SMIC" / "HS")
    return root


def write_ckplus(root: Path, sequences: dict[tuple[str, str], tuple[int | None, int]]) -> Path:
    """(subject, sequence) -> (emotion code or None for unlabelled, number of frames). Each frame's grey value
    is its frame number, so a test can tell which frame was read."""
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
    return root


# Ten subjects (CK+'s default splitter is 10-fold by subject), every emotion code 1..7, and one unlabelled
# sequence.
CK_TEN = {
    **{(f"S{100 + s:03d}", "001"): (1 + s % 7, 5 + s) for s in range(10)},
    ("S100", "002"): (5, 7),
    ("S101", "003"): (None, 6),
}


def write_ckplus48(root: Path, counts: dict[str, dict[str, int]]) -> Path:
    """emotion -> subject -> number of sequences (three frames each)."""
    for index, (emotion, subjects) in enumerate(counts.items()):
        for subject, n_sequences in subjects.items():
            for sequence in range(10 * index + 1, 10 * index + n_sequences + 1):  # one emotion per sequence
                for frame in (10, 11, 12):
                    write_png(root / emotion / f"{subject}_{sequence:03d}_{frame:08d}.png", frame, (48, 48))
    return root


CK48_TEN = {
    emotion: {f"S{100 + s:03d}": 1 for s in range(10) if s % 7 == index}
    for index, emotion in enumerate(("anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise"))
}


def write_jaffe(root: Path, names: list[str]) -> Path:
    """JAFFE tiffs named <subject>.<emotion><n>.<image>.tiff; image i has grey value 10 * i."""
    root.mkdir(parents=True, exist_ok=True)
    for index, name in enumerate(names):
        Image.fromarray(np.full((256, 256), index * 10, dtype=np.uint8)).save(root / name)
    return root


# Five women (JAFFE's default splitter is 5-fold by subject), every expression code.
JAFFE_FIVE = [
    f"{subject}.{code}{k}.{10 * s + k}.tiff"
    for s, subject in enumerate(("KA", "KL", "KM", "KR", "YM"))
    for k, code in enumerate(("AN", "DI", "FE", "HA", "NE", "SA", "SU")[s % 2 :: 2], start=1)
]


def write_fer_csv(path: Path, rows: list[tuple[int, str]]) -> list[np.ndarray]:
    """The official format: header emotion,pixels,Usage; 2304 space-separated values per row."""
    rng = np.random.default_rng(0)
    images, lines = [], ["emotion,pixels,Usage"]
    for emotion, usage in rows:
        image = rng.integers(0, 256, (48, 48), dtype=np.uint8)
        images.append(image)
        lines.append(f"{emotion},{' '.join(map(str, image.ravel()))},{usage}")
    path.parent.mkdir(parents=True, exist_ok=True)
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
