"""DFME (Zhao et al. 2023): 671 participants, 7 emotions, 200/300/500 fps; released as the MEGC training,
test A and test B sheets (subjects do not overlap between them).

Layout (``root``)::

    DFME_training_full_with_AU.xlsx, DFME_testA_full_with_AU.xlsx, DFME_testB_full_with_AU.xlsx
                                  Subject, Filename, OnsetFrame, ApexFrame, OffsetFrame, Emotion, EmotionId,
                                  Fps, AU
    sub0003_01/109.jpg            <clip>/<frame>.jpg (not confirmed against a release)
"""

from __future__ import annotations

from pathlib import Path

from microexp.data.base import DatabaseAdapter, LabelMap, SheetColumns

SHEETS = ("DFME_training_full_with_AU.xlsx", "DFME_testA_full_with_AU.xlsx", "DFME_testB_full_with_AU.xlsx")
# Alphabetical, which is also the sheets' EmotionId order (anger 0 ... surprise 6).
SEVEN = ("anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise")


def split_of(sheet: Path) -> str:
    """DFME_testA_full_with_AU.xlsx -> testA."""
    parts = sheet.stem.split("_")
    return parts[1] if len(parts) > 1 else sheet.stem


class DFME(DatabaseAdapter):
    name = "dfme"
    title = "DFME"
    description = "DFME: 7 emotions, 200/300/500 fps; training + test A + test B sheets"
    layout = "sub0003_01/109.jpg"
    default_sheets = SHEETS
    sheet_columns = SheetColumns(emotion="Emotion", aus="AU", extra=("Fps",))
    label_maps = {"7class": LabelMap("7class", SEVEN, {e: e for e in SEVEN}, "seven emotions, all sheets")}
    default_label_map = "7class"
    default_splitter = "loso"

    def clip_row(self, record: dict, sheet: Path) -> dict:
        return {**super().clip_row(record, sheet), "fps": int(record["Fps"]), "split": split_of(sheet)}

    def clip_dir(self, row: dict) -> Path:
        return self.root / row["clip"]
