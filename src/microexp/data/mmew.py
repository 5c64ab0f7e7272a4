"""MMEW (Ben et al. 2021): 36 subjects, 300 micro-expressions at 90 fps (+ macro-expressions).

Layout (``root``)::

    MMEW_Micro_Exp.xlsx                               Subject, Filename, OnsetFrame, ApexFrame, OffsetFrame,
                                                      Action Units, Estimated Emotion
    Micro_Expression/happiness/S01-01-001/15.jpg      Micro_Expression/<emotion>/<clip>/<frame>.jpg

The official sheet is not public; a derived list with the same columns (234 clips, "others" removed,
``HTNet_MMEW_Micro_Exp_delete_others.csv``) can be passed as ``sheet``.
"""

from __future__ import annotations

from pathlib import Path

from microexp.data.base import DatabaseAdapter, Protocol, frame_int, read_sheet

SHEET = "MMEW_Micro_Exp.xlsx"
SIX = ("anger", "disgust", "fear", "happiness", "sadness", "surprise")


class MMEW(DatabaseAdapter):
    name = "mmew"
    title = "MMEW"
    description = "MMEW: 36 subjects, 300 micro-expressions, 90 fps; 6 or 3 classes (others dropped)"
    layout = "Micro_Expression/happiness/S01-01-001/15.jpg"
    default_sheets = (SHEET,)
    protocols = {
        "6class": Protocol(
            "6class", SIX, {**{e: e for e in SIX}, "others": None}, "six emotions; others dropped"
        ),
        "3class": Protocol(
            "3class",
            ("negative", "positive", "surprise"),
            {
                **dict.fromkeys(("anger", "disgust", "fear", "sadness"), "negative"),
                "happiness": "positive",
                "surprise": "surprise",
                "others": None,
            },
            "negative = anger, disgust, fear, sadness; positive = happiness; surprise; others dropped",
        ),
    }
    default_protocol = "6class"

    def read_clips(self) -> list[dict]:
        rows = []
        for path in self.sheet_paths():
            frame = read_sheet(
                path,
                title=self.title,
                required=(
                    "Subject",
                    "Filename",
                    "OnsetFrame",
                    "ApexFrame",
                    "OffsetFrame",
                    "Action Units",
                    "Estimated Emotion",
                ),
            )
            for record in frame.to_dict("records"):
                rows.append(
                    {
                        "subject": f"S{int(record['Subject']):02d}",
                        "clip": str(record["Filename"]).strip(),
                        "emotion": str(record["Estimated Emotion"]).strip().lower(),
                        "onset": frame_int(record["OnsetFrame"]),
                        "apex": frame_int(record["ApexFrame"]),
                        "offset": frame_int(record["OffsetFrame"]),
                        "aus": str(record["Action Units"]).strip(),
                        "sheet": path.name,
                    }
                )
        return rows

    def clip_dir(self, row: dict) -> Path:
        return self.root / "Micro_Expression" / row["emotion"] / row["clip"]
