"""SAMM long videos (Yap et al. 2020, the MEGC spotting set): 147 long recordings of SAMM's 32 subjects at
200 fps, with 343 macro- and 159 micro-movements coded.

Layout (``root``)::

    SAMM_LongVideos_V3_Release.xlsx     sheet FACS_Movement_Only: 9 lines of notes, the header on row 10
                                        (Subject, Filename, Inducement Code, Onset, Apex, Offset, Duration,
                                        Type, Action Units, Notes); V1 and V2 releases have the same sheet
    SAMM_longvideos/006_1/006_1_0001.jpg   <subject>_<recording>/<subject>_<recording>_<frame>.jpg

``Filename`` names an expression ``006_1_2`` (subject, recording, expression number); ``Type`` is
``Micro - 1/2`` or ``Macro``; only micro-expressions are loaded. Onset and offset are frame numbers of the
recording's folder; 0 means the owners did not code that phase (the apex stands in for it, as the MEGC
readers take it). The long-video sheet has no emotion: rows read ``unknown`` unless the sheet has an
``Estimated Emotion`` column (the synthetic long videos microexp writes add one). Written from the public
readers of this sheet; no copy of it was available to test against.
"""

from __future__ import annotations

from pathlib import Path

from microexp.data.base import LabelMap, frame_int, read_sheet
from microexp.data.long_videos import LongVideoAdapter
from microexp.data.samm import EMOTIONS
from microexp.errors import DataNotFoundError

SHEETS = ("SAMM_LongVideos_V3_Release.xlsx", "SAMM_LongVideos_V2_Release.xlsx", "SAMM_LongVideos_V1_Release.xlsx")
SHEET_NAME = "FACS_Movement_Only"
HEADER_ROW = 9  # zero-based: nine lines of notes come first
FRAMES = "SAMM_longvideos"
MICRO = "Micro - 1/2"
COLUMNS = ("Subject", "Filename", "Onset", "Apex", "Offset", "Type", "Action Units")
EMOTION_COLUMN = "Estimated Emotion"
UNKNOWN = "unknown"


class SAMMLong(LongVideoAdapter):
    name = "sammlong"
    title = "SAMM long videos"
    description = "SAMM long videos: 200 fps recordings with micro- and macro-movements (MEGC spotting)"
    layout = "SAMM_longvideos/006_1/006_1_0001.jpg"
    default_sheets = SHEETS[:1]
    fps = 200
    label_maps = {
        "micro": LabelMap(
            "micro",
            ("micro-expression",),
            dict.fromkeys((*EMOTIONS, UNKNOWN), "micro-expression"),
            "every micro-movement, one class (the spotting task; the long-video sheet has no emotion)",
        ),
    }
    default_label_map = "micro"
    default_splitter = "loso"

    def sheet_paths(self) -> tuple[Path, ...]:
        """The newest release present in ``root`` (V3, V2, V1), unless a sheet was given."""
        if self.sheets is None and self.root is not None:
            for name in SHEETS:
                if (self.root / name).is_file():
                    return (self.root / name,)
        return super().sheet_paths()

    def read_clips(self) -> list[dict]:
        rows = []
        for path in self.sheet_paths():
            table = read_sheet(path, title=self.title, required=COLUMNS, header=HEADER_ROW, sheet_name=SHEET_NAME)
            for record in table.to_dict("records"):
                if str(record["Type"]).strip() != MICRO:
                    continue
                onset, apex, offset = (frame_int(record[c]) for c in ("Onset", "Apex", "Offset"))
                name = str(record["Filename"]).strip()
                emotion = record.get(EMOTION_COLUMN)
                rows.append(
                    {
                        "subject": f"{int(float(record['Subject'])):03d}",
                        "clip": name,
                        "recording": "_".join(name.split("_")[:2]),
                        "emotion": str(emotion).strip().lower() if isinstance(emotion, str) else UNKNOWN,
                        # 0: the phase was not coded; the apex stands in for it
                        "onset": apex if onset == 0 else onset,
                        "apex": apex,
                        "offset": apex if offset == 0 else offset,
                        "aus": str(record["Action Units"]).strip(),
                        "sheet": path.name,
                    }
                )
        return rows

    def recording_folders(self) -> list[tuple[str, Path]]:
        folder = self.require_root() / FRAMES
        if not folder.is_dir():
            raise DataNotFoundError(
                f"{self.title}: frames folder {folder} does not exist; expected layout {self.layout}"
            )
        return [(path.name.split("_")[0], path) for path in sorted(folder.iterdir()) if path.is_dir()]

    def clip_dir(self, row: dict) -> Path:
        return self.require_root() / FRAMES / row["recording"]
