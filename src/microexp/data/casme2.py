"""CASME II (Yan et al. 2014): 26 subjects, 255 clips at 200 fps.

Layout (``root``)::

    CASME2-coding-20140508.xlsx                 or the 2019 revision, CASME2-coding-20190701.xlsx
    CASME2_RAW_selected/sub01/EP02_01f/img46.jpg    layout="raw": faces detected and aligned
    Cropped/sub01/EP02_01f/reg_img46.jpg            layout="cropped": the owners' face crops, resized whole

Both coding sheets have the columns Subject, Filename, OnsetFrame, ApexFrame, OffsetFrame, Action Units,
Estimated Emotion (the 2019 one adds blank spacer columns and Objective Classes, writes the apex of
sub04/EP12_01f as "/" and relabels three sub24 clips from sadness to surprise).
"""

from __future__ import annotations

from pathlib import Path

from microexp.data.base import DatabaseAdapter, Fix, LabelMap, SheetColumns
from microexp.errors import ConfigError

SHEET_2014 = "CASME2-coding-20140508.xlsx"
SHEET_2019 = "CASME2-coding-20190701.xlsx"
LAYOUTS = {"raw": "CASME2_RAW_selected", "cropped": "Cropped"}
EMOTIONS = ("happiness", "disgust", "repression", "surprise", "others", "fear", "sadness")


def subject_name(number: object) -> str:
    """Sheet subject 1 is folder sub01."""
    return f"sub{int(number):02d}"


class CASME2(DatabaseAdapter):
    name = "casme2"
    title = "CASME II"
    description = "CASME II: 26 subjects, 255 clips, 200 fps; coding sheets 2014 and 2019"
    layout = (
        "CASME2_RAW_selected/sub01/EP02_01f/img46.jpg (raw) or Cropped/sub01/EP02_01f/reg_img46.jpg (cropped)"
    )
    default_sheets = (SHEET_2014,)
    sheet_columns = SheetColumns()
    label_maps = {
        "5class": LabelMap(
            "5class",
            ("happiness", "disgust", "repression", "surprise", "others"),
            {e: (None if e in ("fear", "sadness") else e) for e in EMOTIONS},
            "the usual 5 classes; fear (2) and sadness (7) are too rare and dropped",
        ),
        # CASME II's part of the MEGC2019 composite: the official list keeps only disgust and repression as
        # negative here (fear and sadness are not in it, unlike SAMM's).
        "megc2019": LabelMap(
            "megc2019",
            ("negative", "positive", "surprise"),
            {
                "disgust": "negative",
                "repression": "negative",
                "happiness": "positive",
                "surprise": "surprise",
                **dict.fromkeys(("others", "fear", "sadness")),
            },
            "CASME II part of the MEGC2019 composite (before the official list's two exclusions)",
        ),
    }
    default_label_map = "5class"
    default_splitter = "loso"
    fixes = {
        ("sub04", "EP12_01f"): (
            Fix("apex", "/", 300, "the 2019 sheet writes the apex as '/'; the 2014 sheet gives 300"),
        ),
    }

    def __init__(self, root=None, *, sheet=None, layout: str = "raw"):
        super().__init__(root, sheet=sheet)
        if layout not in LAYOUTS:
            raise ConfigError(f"CASME II: unknown layout {layout!r}; expected one of {sorted(LAYOUTS)}")
        self.layout_name = layout
        # Cropped/ holds the owners' face crops, from which the MEGC2019 composite's flows were made: they are
        # resized whole; the raw frames show more than the face, which is found and aligned.
        self.face_geometry = "as-cropped" if layout == "cropped" else "detect"

    @staticmethod
    def subject_name(value: object) -> str:
        return subject_name(value)

    def clip_dir(self, row: dict) -> Path:
        return self.root / LAYOUTS[self.layout_name] / row["subject"] / row["clip"]
