"""CAS(ME)^2 (Qu et al. 2017): 22 subjects' long recordings at 30 fps with macro- and micro-expressions.

Layout (``root``)::

    CAS(ME)^2code_final.xlsx        sheets: CASFEcode_final (no header: subject number, clip name, onset,
                                    apex, offset, AUs, emotion category, expression type, self-report),
                                    naming rule1 (subject folder number | subject number in column 3),
                                    naming rule2 (recording code | stimulus name, e.g. 101 | disgust1)
    rawpic/s15/15_0101disgustingteeth/img1.jpg

A clip's recording folder is ``rawpic/s<folder>/<folder>_<code, 4 digits>*``; its frames are the images
numbered onset..offset. Only micro-expressions are loaded. As long videos (:meth:`long_videos`, for
spotting), every folder ``rawpic/s*/*`` is a recording at 30 fps. Written from the owners' description and public
readers of this sheet; no copy of the sheet was available to test against.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from microexp.data.base import LabelMap, frame_int, read_sheet
from microexp.data.long_videos import LongVideoAdapter
from microexp.errors import DataError

SHEET = "CAS(ME)^2code_final.xlsx"
CODES_SHEET = "CASFEcode_final"
COLUMNS = ("subject", "clip", "onset", "apex", "offset", "aus", "emotion", "type", "self_report")
FOUR = ("negative", "positive", "surprise", "others")


class CASME2Long(LongVideoAdapter):
    name = "casme2long"
    title = "CAS(ME)^2"
    description = "CAS(ME)^2: long 30 fps recordings; micro-expressions, 4 classes"
    layout = "rawpic/s15/15_0101disgustingteeth/img1.jpg"
    default_sheets = (SHEET,)
    fps = 30
    label_maps = {
        "4class": LabelMap("4class", FOUR, {e: e for e in FOUR}, "negative / positive / surprise / others")
    }
    default_label_map = "4class"
    default_splitter = "loso"

    def read_clips(self) -> list[dict]:
        rows = []
        for path in self.sheet_paths():
            codes = read_sheet(path, title=self.title, required=(), header=None, sheet_name=CODES_SHEET)
            if codes.shape[1] < len(COLUMNS) - 1:
                raise DataError(
                    f"{self.title}: sheet {CODES_SHEET} of {path.name} has {codes.shape[1]} columns; "
                    f"expected {len(COLUMNS)} ({', '.join(COLUMNS)})"
                )
            folders = self._rule(path, "naming rule1", key=2, value=1)
            recordings = self._rule(path, "naming rule2", key=1, value=0)
            for values in codes.itertuples(index=False):
                record = dict(zip(COLUMNS, values, strict=False))
                if "micro" not in str(record["type"]).lower():
                    continue
                subject_number, clip = int(record["subject"]), str(record["clip"]).strip()
                folder = str(folders.get(subject_number, subject_number)).lstrip("s").split(".")[0]
                stimulus = clip.split("_")[0]
                code = recordings.get(stimulus)
                rows.append(
                    {
                        "subject": f"s{folder}",
                        "clip": clip,
                        "recording": f"{folder}_{int(float(code)):04d}" if code is not None else "",
                        "emotion": str(record["emotion"]).strip().lower(),
                        "onset": frame_int(record["onset"]),
                        "apex": frame_int(record["apex"]),
                        "offset": frame_int(record["offset"]),
                        "aus": str(record["aus"]).strip(),
                        "sheet": path.name,
                    }
                )
        return rows

    def _rule(self, path: Path, sheet_name: str, *, key: int, value: int) -> dict:
        table = read_sheet(path, title=self.title, required=(), header=None, sheet_name=sheet_name)
        return {
            _plain(row[key]): row[value] for row in table.itertuples(index=False) if not pd.isna(row[key])
        }

    def recording_folders(self) -> list[tuple[str, Path]]:
        return [
            (subject.name, folder)
            for subject in sorted((self.require_root() / "rawpic").glob("s*"))
            if subject.is_dir()
            for folder in sorted(subject.iterdir())
            if folder.is_dir()
        ]

    def clip_dir(self, row: dict) -> Path:
        parent = self.root / "rawpic" / row["subject"]
        # Folder names append the stimulus title to the code (15_0101disgustingteeth).
        matches = sorted(parent.glob(f"{row['recording']}*")) if row["recording"] else []
        return matches[0] if matches else parent / f"{row['recording'] or row['clip']}*"


def _plain(value: object) -> object:
    """Sheet keys read as 1.0 or ' disgust1 ' become 1 and 'disgust1'."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value.strip() if isinstance(value, str) else value
