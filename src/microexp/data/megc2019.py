"""The MEGC2019 composite as distributed with published code (SMIC-HS + CASME II + SAMM, 3 classes).

Layout of a copy (``root``)::

    combined_3_class2_for_optical_flow.csv   header dataset,sub,filename_o,label,apex,imagename,sub_filename
    combined_3class_gt.csv                   the official list: no header, dataset,subject,clip,label
    flow_uvos_28/{sub}_{clip} .png           28x28 RGB = u, v, optical strain (note the space before .png)
    apex_face_224/{imagename}                optional apex face crops

Either list file is enough. SAMM subjects are zero-padded in one file and not in the other; we use the
padded form (as SAMM names its folders). Subjects in the table are prefixed with the part
(``samm/006``) so that leave-one-subject-out can never merge two databases' subjects.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import warnings
from pathlib import Path
from types import MappingProxyType

from microexp.data.base import CheckReport, LabelMap
from microexp.data.schema import SampleTable, build_table, make_clip_id
from microexp.errors import ConfigError, DataError, DataNotFoundError, MicroexpError
from microexp.textfiles import read_text

logger = logging.getLogger(__name__)

CLASSES = ("negative", "positive", "surprise")
PARTS = ("smic", "casme2", "samm")
# The official composite, per part and class (negative, positive, surprise).
OFFICIAL_COUNTS = {"smic": (70, 51, 43), "casme2": (88, 32, 25), "samm": (92, 26, 15)}
LIST_FILES = ("combined_3_class2_for_optical_flow.csv", "combined_3class_gt.csv")


def _canonical_subject(part: str, subject: str) -> str:
    return subject.zfill(3) if part == "samm" else subject


def _smic_apex_image(subject: str, clip: str, where: str) -> str:
    # SMIC crops are named s01_s1_ne_01.jpg: the clip's own subject prefix is not zero-padded.
    match = re.fullmatch(r"s(\d+)_(.+)", clip)
    if match is None:
        raise DataError(f"{where}: SMIC clip {clip!r} is not named like s1_ne_01 (subject, then the clip)")
    return f"{subject}_s{int(match.group(1))}_{match.group(2)}.jpg"


class MEGC2019:
    """Adapter for a copy of the composite. ``load()`` validates and returns the sample table."""

    name = "megc2019"
    title = "MEGC2019 composite (distributed flows)"
    description = "SMIC-HS + CASME II + SAMM, 442 clips, 68 subjects, with the distributed 28x28 u/v/strain flows"
    layout = f"{LIST_FILES[0]} (or {LIST_FILES[1]}), flow_uvos_28/{{sub}}_{{clip}} .png, apex_face_224/"
    classes = CLASSES
    label_maps = {
        "3class": LabelMap("3class", CLASSES, {c: c for c in CLASSES}, "negative / positive / surprise, as distributed")
    }
    default_label_map = "3class"
    default_splitter = "loso"
    default_splitter_options = MappingProxyType({})

    def __init__(
        self,
        root: str | Path | None = None,
        *,
        sheet: str | Path | None = None,
        flow_dir: str = "flow_uvos_28",
        apex_dir: str = "apex_face_224",
    ) -> None:
        if root is None:
            raise ConfigError(f"{self.title}: give the folder that holds {LIST_FILES[0]} and {flow_dir}/")
        self.root = Path(root)
        self.list_file = sheet
        self.flow_dir = flow_dir
        self.apex_dir = apex_dir

    def _list_path(self) -> Path:
        if not self.root.is_dir():
            raise DataNotFoundError(
                f"MEGC2019 data directory {self.root} does not exist; pass the folder that holds "
                f"{LIST_FILES[0]} (or {LIST_FILES[1]}) and {self.flow_dir}/"
            )
        candidates = [self.list_file] if self.list_file else LIST_FILES
        for name in candidates:
            if (self.root / name).is_file():  # an absolute sheet path stays as it is
                return self.root / name
        raise DataNotFoundError(f"MEGC2019 list not found in {self.root}: expected one of {list(candidates)}")

    def _read_rows(self, path: Path) -> list[dict]:
        reader = csv.reader(io.StringIO(read_text(path, "MEGC2019 list"), newline=""))
        lines = [(reader.line_num, row) for row in reader if row]
        has_header = bool(lines) and lines[0][1][0].strip() == "dataset"
        header = [h.strip() for h in lines[0][1]] if has_header else ["dataset", "sub", "filename_o", "label"]
        required = {"dataset", "sub", "filename_o", "label"}
        if not required <= set(header):
            raise DataError(f"{path}: header {header} lacks columns {sorted(required - set(header))}")
        needed = max(header.index(c) for c in required) + 1
        rows = []
        for number, values in lines[1:] if has_header else lines:
            if len(values) < needed:
                raise DataError(
                    f"{path}:{number}: the row {','.join(values)!r} has {len(values)} field(s); the columns "
                    f"{header[:needed]} need {needed}; complete the row or remove it"
                )
            row = dict(zip(header, (v.strip() for v in values), strict=False))
            rows.append({**row, "_line": number})
        return rows

    def load(self, label_map: str | None = None, *, frames: bool = True) -> SampleTable:
        """The composite's clips; ``frames=False`` reads the list only, without checking the flow files."""
        if label_map not in (None, self.default_label_map):
            raise ConfigError(
                f"{self.title}: unknown label map {label_map!r}; expected {self.default_label_map!r}"
            )
        check_files = frames
        list_path = self._list_path()
        flow_root = self.root / self.flow_dir
        if check_files and not flow_root.is_dir():
            raise DataNotFoundError(f"MEGC2019 flow folder {flow_root} does not exist")
        apex_root = self.root / self.apex_dir
        samples = []
        missing = []
        for row in self._read_rows(list_path):
            part, clip = row["dataset"].lower(), row["filename_o"]
            where = f"{list_path.name} line {row['_line']} ({part} {row['sub']} {clip})"
            if part not in PARTS:
                raise DataError(f"{where}: unknown part {row['dataset']!r}; expected one of {PARTS}")
            subject = _canonical_subject(part, row["sub"])
            try:
                label = int(row["label"])
            except ValueError:
                label = -1
            if not 0 <= label < len(CLASSES):
                raise DataError(
                    f"{where}: unknown label {row['label']!r}; expected 0 (negative), 1 (positive) or 2 (surprise)"
                )
            flow_path = flow_root / f"{subject}_{clip} .png"
            if check_files and not flow_path.is_file():
                missing.append(f"{part}/{subject}/{clip} (expected {flow_path})")
            image = row.get("imagename") or (
                _smic_apex_image(subject, clip, where) if part == "smic" else f"{subject}_{clip}.jpg"
            )
            samples.append(
                {
                    "dataset": part,
                    "subject": f"{part}/{subject}",
                    "clip_id": make_clip_id(part, subject, clip),
                    "clip": clip,
                    "label": label,
                    "emotion": CLASSES[label],
                    "flow_path": str(flow_path),
                    "apex_path": str(apex_root / image),
                    "face_geometry": "as-cropped",  # the apex images are face crops
                }
            )
        if missing:
            shown = "; ".join(missing[:5]) + (f"; and {len(missing) - 5} more" if len(missing) > 5 else "")
            raise DataNotFoundError(f"MEGC2019: {len(missing)} flow image(s) missing: {shown}")
        table = build_table(self.name, CLASSES, samples)
        self._check_counts(table)
        return table

    def check(self, label_map: str | None = None, *, all_frames: bool = False) -> CheckReport:
        """Load, then open every flow image (and apex crop when present) to find damaged files."""
        from microexp.data.images import read_image

        table = self.load(label_map, frames=False)
        report = CheckReport(table)
        for row in table.samples.itertuples():
            paths = [row.flow_path] + ([row.apex_path] if all_frames else [])
            for path in paths:
                try:
                    read_image(path, mode="RGB", what=f"clip {row.clip_id}")
                except MicroexpError as error:
                    report.problems.append(str(error))
        return report

    @staticmethod
    def _check_counts(table: SampleTable) -> None:
        frame = table.samples
        for part, expected in OFFICIAL_COUNTS.items():
            labels = frame.loc[frame["dataset"] == part, "label"]
            found = tuple(int((labels == c).sum()) for c in range(len(CLASSES)))
            if found != expected:
                warnings.warn(
                    f"MEGC2019 part {part}: class counts {found} differ from the official composite {expected}; "
                    "results will not be comparable with published figures",
                    stacklevel=3,
                )
