"""SMIC-HS (Li et al. 2013): 16 subjects, 164 micro-expression clips at 100 fps, 3 classes.

Layout (``root``, the HS folder of the release)::

    s1/micro/negative/s1_ne_01/image090823.bmp      s<subject>/micro/<class>/s<subject>_<ne|po|sur>_<nn>/

The release holds two such HS folders: ``SMIC_all_raw/HS`` (640x480 frames, the face detected and aligned)
and ``SMIC_all_cropped/HS`` (the owners' face crops, from which the composite's flows were made: resized
whole, ``face_geometry`` "as-cropped"). ``cropped=None`` (default) tells them apart by the name of the root
or its parent folder (it contains "crop"); ``cropped=True`` or ``False`` says it outright.

The release has no annotation sheet and no apex: the clip list and labels come from the folder tree.
An optional community sheet (``smic_apex.xlsx``: subject, clip, onset_frame, apex_frame, offset_frame)
adds onset, apex and offset; its frame numbers are the long recordings' image numbers.
"""

from __future__ import annotations

from pathlib import Path

from microexp.data.base import DatabaseAdapter, LabelMap, frame_int, read_sheet
from microexp.errors import ConfigError, DataError

CLASSES = ("negative", "positive", "surprise")
CODES = {"ne": "negative", "po": "positive", "sur": "surprise"}


def emotion_of_clip(clip: str) -> str | None:
    """s1_ne_01 -> negative; None when the name does not follow the release's pattern."""
    parts = clip.split("_")
    return CODES.get(parts[1]) if len(parts) == 3 else None


class SMIC(DatabaseAdapter):
    name = "smic"
    title = "SMIC-HS"
    description = "SMIC-HS: 16 subjects, 164 clips, 100 fps; labels from the folder tree, optional apex sheet"
    layout = "s1/micro/negative/s1_ne_01/image090823.bmp"
    default_sheets = ()
    label_maps = {
        "3class": LabelMap("3class", CLASSES, {c: c for c in CLASSES}, "negative / positive / surprise"),
    }
    default_label_map = "3class"
    default_splitter = "loso"

    def __init__(self, root=None, *, sheet=None, cropped: bool | None = None):
        super().__init__(root, sheet=sheet)
        if cropped is None:
            names = (self.root.name, self.root.parent.name) if self.root is not None else ()
            cropped = any("crop" in name.lower() for name in names)
        self.face_geometry = "as-cropped" if cropped else "detect"

    def read_clips(self) -> list[dict]:
        if self.sheets is not None:
            return [row for path in self.sheets for row in self._rows_from_sheet(path)]
        if self.root is None:
            raise ConfigError("SMIC-HS: give the HS folder (root) or a clip sheet (sheet=...)")
        return self._rows_from_tree()

    def _rows_from_tree(self) -> list[dict]:
        if not self.root.is_dir():
            raise DataError(f"SMIC-HS: data folder {self.root} does not exist; expected layout {self.layout}")
        rows = []
        for folder in sorted(self.root.glob("s*/micro/*/*")):
            if not folder.is_dir():
                continue
            subject, _, emotion_dir, clip = folder.parts[-4:]
            rows.append(
                {
                    "subject": subject,
                    "clip": clip,
                    # The folder name is the label; an unexpected folder name reaches the label map's check.
                    "emotion": emotion_dir.lower(),
                    "onset": None,
                    "apex": None,
                    "offset": None,
                    "aus": "",
                    "sheet": f"folder {folder.relative_to(self.root)}",
                }
            )
        if not rows:
            raise DataError(f"SMIC-HS: no clip folders under {self.root}; expected layout {self.layout}")
        return rows

    def _rows_from_sheet(self, path: Path) -> list[dict]:
        frame = read_sheet(
            path, title=self.title, required=("subject", "clip", "onset_frame", "apex_frame", "offset_frame")
        )
        rows = []
        for record in frame.to_dict("records"):
            clip = str(record["clip"]).strip()
            rows.append(
                {
                    "subject": f"s{int(record['subject'])}",
                    "clip": clip,
                    "emotion": emotion_of_clip(clip) or clip,
                    "onset": frame_int(record["onset_frame"]),
                    "apex": frame_int(record["apex_frame"]),
                    "offset": frame_int(record["offset_frame"]),
                    "aus": "",
                    "sheet": path.name,
                }
            )
        return rows

    def clip_dir(self, row: dict) -> Path:
        return self.root / row["subject"] / "micro" / row["emotion"] / row["clip"]
