"""CAS(ME)^3 (Li et al. 2022). Part A: 100 subjects x 13 long recordings, 860 labelled micro-expressions
in 94 subjects; Part C: the mock-crime recordings, 165 micro-expressions in 30 subjects.

Layout (``root``)::

    cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx    Part A ME sheet: Subject, Filename, Onset, Apex, Offset, AU,
                                                 Objective class, emotion (frame numbers index the jpgs)
    spNO.1/a/color/355.jpg                       <subject>/<recording>/color/<frame>.jpg (Part A)
    CAS(ME)3_part_C_ME.xlsx                      Part C ME sheet: sub, count, onset, offset, au, emotion
    1/color/373.jpg                              <sub>/color/<frame>.jpg (Part C; layout not confirmed)

A recording holds many clips, so a clip is named ``<recording>_<onset as written in the sheet>``
(``a_355``) and its frames are the recording's images numbered onset..offset.
"""

from __future__ import annotations

from pathlib import Path

from microexp.data.base import DatabaseAdapter, Fix, LabelMap, frame_int, read_sheet

SHEET_A = "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"
SHEET_C = "CAS(ME)3_part_C_ME.xlsx"
NEGATIVE_A = ("anger", "disgust", "fear", "sad")
FULL_SHEET_A = "CAS(ME)3_part_A_v2.xls"  # the owners' full sheet (macro + micro), source of the fixes below


def _fix_from_full_sheet(column: str, found: int, value: int) -> Fix:
    return Fix(
        column, found, value, f"{column} {found} breaks onset<=apex<=offset; {FULL_SHEET_A} gives {value}"
    )


class CASME3PartA(DatabaseAdapter):
    name = "casme3a"
    title = "CAS(ME)^3 Part A"
    description = (
        "CAS(ME)^3 Part A: 860 micro-expressions, 94 subjects, 30 fps long recordings; 3/4/7 classes"
    )
    layout = "spNO.1/a/color/355.jpg"
    default_sheets = (SHEET_A,)
    frames_span_recording = True
    label_maps = {
        "7class": LabelMap(
            "7class",
            ("anger", "disgust", "fear", "happy", "others", "sad", "surprise"),
            {e: e for e in ("anger", "disgust", "fear", "happy", "others", "sad", "surprise")},
            "the sheet's seven emotion words",
        ),
        "4class": LabelMap(
            "4class",
            ("negative", "positive", "surprise", "others"),
            {
                **dict.fromkeys(NEGATIVE_A, "negative"),
                "happy": "positive",
                "surprise": "surprise",
                "others": "others",
            },
            "negative = anger, disgust, fear, sad; positive = happy; surprise; others",
        ),
        "3class": LabelMap(
            "3class",
            ("negative", "positive", "surprise"),
            {
                **dict.fromkeys(NEGATIVE_A, "negative"),
                "happy": "positive",
                "surprise": "surprise",
                "others": None,
            },
            "negative = anger, disgust, fear, sad; positive = happy; surprise; others dropped",
        ),
    }
    default_label_map = "7class"
    default_splitter = "loso"
    fixes = {
        ("spNO.149", "d_112"): (_fix_from_full_sheet("apex", 83, 160),),
        ("spNO.216", "d_3647"): (_fix_from_full_sheet("onset", 3647, 2647),),
        ("spNO.40", "e_1812"): (_fix_from_full_sheet("offset", 0, 1845),),
        ("spNO.40", "e_2327"): (_fix_from_full_sheet("offset", 0, 2403),),
    }

    def read_clips(self) -> list[dict]:
        rows = []
        for path in self.sheet_paths():
            frame = read_sheet(
                path,
                title=self.title,
                required=("Subject", "Filename", "Onset", "Apex", "Offset", "AU", "emotion"),
            )
            for record in frame.to_dict("records"):
                recording = str(record["Filename"]).strip()
                onset = frame_int(record["Onset"])
                rows.append(
                    {
                        "subject": str(record["Subject"]).strip(),
                        "clip": f"{recording}_{onset}",
                        "recording": recording,
                        "emotion": str(record["emotion"]).strip().lower(),
                        "onset": onset,
                        "apex": frame_int(record["Apex"]),
                        "offset": frame_int(record["Offset"]),
                        "aus": str(record["AU"]).strip(),
                        "sheet": path.name,
                    }
                )
        return rows

    def clip_dir(self, row: dict) -> Path:
        return self.root / row["subject"] / row["recording"] / "color"


class CASME3PartC(DatabaseAdapter):
    name = "casme3c"
    title = "CAS(ME)^3 Part C"
    description = "CAS(ME)^3 Part C (mock crime): 165 micro-expressions, 30 subjects, no apex; 3/4 classes"
    layout = "1/color/373.jpg (not confirmed against a release)"
    default_sheets = (SHEET_C,)
    frames_span_recording = True
    label_maps = {
        "4class": LabelMap(
            "4class",
            ("negative", "positive", "surprise", "others"),
            {e: e for e in ("negative", "positive", "surprise", "others")},
            "the sheet's four words",
        ),
        "3class": LabelMap(
            "3class",
            ("negative", "positive", "surprise"),
            {"negative": "negative", "positive": "positive", "surprise": "surprise", "others": None},
            "negative / positive / surprise; others dropped",
        ),
    }
    default_label_map = "4class"
    default_splitter = "loso"

    def read_clips(self) -> list[dict]:
        rows = []
        for path in self.sheet_paths():
            frame = read_sheet(
                path, title=self.title, required=("sub", "count", "onset", "offset", "au", "emotion")
            )
            for record in frame.to_dict("records"):
                rows.append(
                    {
                        "subject": str(int(record["sub"])),
                        "clip": f"me{int(record['count']):02d}",
                        "emotion": str(record["emotion"]).strip().lower(),
                        "onset": frame_int(record["onset"]),
                        "apex": None,
                        "offset": frame_int(record["offset"]),
                        "aus": str(record["au"]).strip(),
                        "sheet": path.name,
                    }
                )
        return rows

    def clip_dir(self, row: dict) -> Path:
        return self.root / row["subject"] / "color"
