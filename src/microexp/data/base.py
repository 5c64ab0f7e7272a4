"""What every database adapter shares: reading the owner's sheet, keyed annotation fixes, label maps
(emotion words to classes), and finding frame files in the vendor's layout.

An adapter subclasses :class:`DatabaseAdapter`, says how to read its sheet into plain clip rows
(``read_clips``) and where a clip's frames live (``clip_dir``). ``load`` then applies the fixes, validates
onset/apex/offset, maps emotions to the label map's classes and, when a frames root was given, attaches the
frame paths. ``check`` does the same without stopping at the first problem, for ``microexp check``.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import ClassVar

import pandas as pd

from microexp.data.frame_names import frame_number
from microexp.data.images import damage
from microexp.data.schema import SampleTable, build_table, make_clip_id
from microexp.errors import ConfigError, DataError, DataNotFoundError, UnreadableFileError
from microexp.textfiles import read_text

FRAME_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


@dataclass(frozen=True)
class LabelMap:
    """Which clips a label map keeps and the class each of the database's emotion words maps to
    (``None``: dropped).

    Every emotion the sheet may contain must be a key, so a word the map has never seen is an error
    rather than a silently dropped clip.
    """

    name: str
    classes: tuple[str, ...]
    mapping: dict[str, str | None]
    description: str
    keep: Callable[[dict], bool] | None = None  # extra row filter, e.g. micro-expressions only

    def label_of(self, emotion: str) -> int | None:
        target = self.mapping[emotion]
        return None if target is None else self.classes.index(target)

    def counts_note(self) -> str:
        dropped = sorted(e for e, c in self.mapping.items() if c is None)
        return f"{', '.join(self.classes)}" + (f" (dropped: {', '.join(dropped)})" if dropped else "")


@dataclass(frozen=True)
class Fix:
    """A correction of one sheet value of one clip. Applied only when the sheet holds ``found``, so a
    corrected or different release of the sheet is left alone."""

    column: str
    found: object
    value: object
    reason: str


@dataclass(frozen=True)
class SheetColumns:
    """Where a one-row-per-clip annotation sheet keeps each field of a clip: the owners name the same
    columns differently (``OnsetFrame`` in CASME II, ``Onset Frame`` in SAMM, ``AU`` in DFME)."""

    subject: str = "Subject"
    clip: str = "Filename"
    onset: str = "OnsetFrame"
    apex: str = "ApexFrame"
    offset: str = "OffsetFrame"
    emotion: str = "Estimated Emotion"
    aus: str = "Action Units"
    extra: tuple[str, ...] = ()  # further columns an adapter reads in ``clip_row``

    def required(self) -> tuple[str, ...]:
        return (self.subject, self.clip, self.onset, self.apex, self.offset, self.emotion, self.aus, *self.extra)


@dataclass
class CheckReport:
    """What ``check`` found: the annotation table (frames attached where found) and every problem."""

    table: SampleTable
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def numbered_frames(folder: Path) -> list[tuple[int, Path]]:
    """(frame number, path) of the frame images in ``folder``, in frame order. Images whose name does not
    end in a number are left out: a clip folder may hold other pictures (a cover, a thumbnail)."""
    numbered = []
    for path in folder.iterdir():
        if path.suffix.lower() not in FRAME_SUFFIXES:
            continue
        try:
            numbered.append((frame_number(path), path))
        except DataError:
            continue
    return sorted(numbered)


def read_sheet(
    path: Path, *, title: str, required: Sequence[str], header: int = 0, sheet_name: str | int = 0
) -> pd.DataFrame:
    """A sheet (xlsx, xls or csv) with stripped column names; a missing column is an error naming the file."""
    if not path.is_file():
        raise DataNotFoundError(
            f"{title}: annotation sheet {path} does not exist; pass sheet=PATH to the adapter"
        )
    text = read_text(path, f"{title}: annotation sheet") if path.suffix.lower() == ".csv" else None
    try:
        if text is not None:
            frame = pd.read_csv(io.StringIO(text), header=header)
        else:
            frame = pd.read_excel(path, sheet_name=sheet_name, header=header)
    except (ValueError, OSError, KeyError, zipfile.BadZipFile) as error:
        # an xlsx is a zip archive: a truncated download is a BadZipFile, a foreign zip a KeyError
        raise UnreadableFileError(
            f"{title}: annotation sheet {path} cannot be read ({type(error).__name__}: {error}); "
            "get a fresh copy of the owner's sheet"
        ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        found = [c for c in frame.columns if not c.startswith("Unnamed")]
        raise DataError(
            f"{title}: annotation sheet {path.name} lacks column(s) {missing}; found {found}. "
            f"Is this the owner's sheet, unedited?"
        )
    return frame.dropna(how="all")


def frame_int(value: object) -> int | None:
    """A frame number cell as int; blank is ``None``; anything else (such as "/") stays as written so the
    fix table can match it and validation can report it."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return value  # type: ignore[return-value]


class DatabaseAdapter:
    """Base of the per-database adapters. ``root`` is the frames root in the vendor's layout (``None``:
    annotations only, ``frames=()``); ``sheet`` overrides where the annotation sheet is looked for."""

    name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]
    layout: ClassVar[str]  # the expected layout, shown in messages and docs
    default_sheets: ClassVar[tuple[str, ...]]  # sheet file names looked for in ``root``
    label_maps: ClassVar[dict[str, LabelMap]]
    default_label_map: ClassVar[str]
    # How the database is evaluated unless a run says otherwise: a name of microexp.data.splitters.SPLITTERS
    # and its constructor's options.
    default_splitter: ClassVar[str]
    default_splitter_options: ClassVar[Mapping[str, object]] = MappingProxyType({})
    has_sheet: ClassVar[bool] = True  # False: labels come from the folder tree or the file names
    fixes: ClassVar[dict[tuple[str, str], tuple[Fix, ...]]] = {}
    # Long recordings hold many clips in one folder: a clip's frames are those numbered onset..offset.
    frames_span_recording: ClassVar[bool] = False
    # The owner's sheet holds one row per clip in these columns (``None``: the adapter reads its sheet itself).
    sheet_columns: ClassVar[SheetColumns | None] = None
    sheet_header_row: ClassVar[int] = 0  # zero-based row of the column names
    # What the database's pictures are: "detect" (frames or photographs in which the face is to be found and
    # aligned) or "as-cropped" (the database's own face crops, resized whole). Every row of the table
    # carries it in the column ``face_geometry``, which the input setting ``face_geometry=auto`` (the
    # default) follows. An adapter whose copies differ (CASME II's two layouts) sets it per instance.
    face_geometry: ClassVar[str] = "detect"

    def __init__(
        self, root: str | Path | None = None, *, sheet: str | Path | Sequence[str | Path] | None = None
    ):
        if sheet is not None and not self.has_sheet:
            raise ConfigError(f"{self.title}: labels come from {self.layout}; there is no sheet to pass")
        self.root = Path(root) if root is not None else None
        if sheet is None:
            self.sheets: tuple[Path, ...] | None = None
        elif isinstance(sheet, str | Path):
            self.sheets = (Path(sheet),)
        else:
            self.sheets = tuple(Path(s) for s in sheet)

    # --- to implement per database -------------------------------------------------------------------
    def read_clips(self) -> list[dict]:
        """Rows: subject, clip, emotion (lower case), onset, apex, offset, aus, ``sheet`` (file name).
        By default, one row per clip of each sheet, in the columns ``sheet_columns`` names."""
        if self.sheet_columns is None:
            raise NotImplementedError(f"{type(self).__name__} must set sheet_columns or override read_clips")
        rows = []
        for path in self.sheet_paths():
            frame = read_sheet(
                path, title=self.title, header=self.sheet_header_row, required=self.sheet_columns.required()
            )
            rows.extend(self.clip_row(record, path) for record in frame.to_dict("records"))
        return rows

    def clip_row(self, record: dict, sheet: Path) -> dict:
        """One sheet row as a clip row; adapters add their extra columns by extending this."""
        columns = self.sheet_columns
        return {
            "subject": self.subject_name(record[columns.subject]),
            "clip": str(record[columns.clip]).strip(),
            "emotion": str(record[columns.emotion]).strip().lower(),
            "onset": frame_int(record[columns.onset]),
            "apex": frame_int(record[columns.apex]),
            "offset": frame_int(record[columns.offset]),
            "aus": str(record[columns.aus]).strip(),
            "sheet": sheet.name,
        }

    @staticmethod
    def subject_name(value: object) -> str:
        """The sheet's subject cell as the name of the subject's folder."""
        return str(value).strip()

    def clip_dir(self, row: dict) -> Path:
        raise NotImplementedError

    # --- shared ------------------------------------------------------------------------------------------
    def sheet_paths(self) -> tuple[Path, ...]:
        if self.sheets is not None:
            return self.sheets
        if self.root is None:
            raise ConfigError(
                f"{self.title}: give the database folder (root) or the annotation sheet (sheet=...); "
                f"expected sheet name(s): {', '.join(self.default_sheets)}"
            )
        return tuple(self.root / name for name in self.default_sheets)

    def where(self, row: dict) -> str:
        return f"{self.title} clip {row['subject']}/{row['clip']} ({row['sheet']})"

    def require_root(self) -> Path:
        """The data folder, for databases whose labels come from the folder tree rather than a sheet."""
        if self.root is None or not self.root.is_dir():
            raise DataNotFoundError(
                f"{self.title}: data folder {self.root} does not exist; expected layout {self.layout}"
            )
        return self.root

    def label_map(self, name: str | None) -> LabelMap:
        name = name or self.default_label_map
        if name not in self.label_maps:
            raise ConfigError(
                f"{self.title}: unknown label map {name!r}; expected one of {sorted(self.label_maps)}"
            )
        return self.label_maps[name]

    def annotated_rows(self, label_map: LabelMap) -> list[dict]:
        """Sheet rows after fixes and validation, with the label map's labels; dropped clips removed."""
        kept = []
        for row in self.validated_rows():
            if label_map.keep is not None and not label_map.keep(row):
                continue
            if row["emotion"] not in label_map.mapping:
                raise DataError(
                    f"{self.where(row)}: unknown emotion {row['emotion']!r}; "
                    f"label map {label_map.name!r} knows "
                    f"{sorted(label_map.mapping)}. Correct the sheet or report the new word."
                )
            label = label_map.label_of(row["emotion"])
            if label is not None:
                kept.append({**row, "label": label})
        return kept

    def validated_rows(self) -> list[dict]:
        """Sheet rows after fixes and validation, every clip kept whatever its emotion."""
        rows = self.read_clips()
        self._reject_duplicates(rows)
        rows = [self._apply_fixes(row) for row in rows]
        self._validate_phases(rows)
        return rows

    def _reject_duplicates(self, rows: list[dict]) -> None:
        seen: dict[tuple[str, str], dict] = {}
        for row in rows:
            key = (row["subject"], row["clip"])
            if key in seen:
                raise DataError(
                    f"{self.where(row)}: clip name appears twice (also in {seen[key]['sheet']}); "
                    "add a keyed fix that renames or drops one of them"
                )
            seen[key] = row

    def _apply_fixes(self, row: dict) -> dict:
        for fix in self.fixes.get((row["subject"], row["clip"]), ()):
            if row.get(fix.column) == fix.found:
                warnings.warn(
                    f"{self.where(row)}: {fix.column} {fix.found!r} -> {fix.value!r}: {fix.reason}",
                    stacklevel=4,
                )
                row = {**row, fix.column: fix.value}
        return row

    def _validate_phases(self, rows: list[dict]) -> None:
        same = []
        for row in rows:
            onset, apex, offset = row.get("onset"), row.get("apex"), row.get("offset")
            for column, value in (("onset", onset), ("apex", apex), ("offset", offset)):
                if value is not None and not isinstance(value, int):
                    raise DataError(f"{self.where(row)}: {column} {value!r} is not a frame number")
            if onset is not None and offset is not None and offset < onset:
                raise DataError(f"{self.where(row)}: offset {offset} is before onset {onset}")
            if apex is not None and onset is not None and offset is not None and not onset <= apex <= offset:
                raise DataError(f"{self.where(row)}: apex {apex} is outside onset–offset {onset}–{offset}")
            if apex is not None and apex == onset:
                same.append(f"{row['subject']}/{row['clip']}")
        if same:
            # Legal but worth knowing: onset-to-apex optical flow of these clips is zero.
            shown = ", ".join(same[:5]) + (f" and {len(same) - 5} more" if len(same) > 5 else "")
            warnings.warn(
                f"{self.title}: {len(same)} clip(s) have apex equal to onset: {shown}", stacklevel=4
            )

    def _frames(self, row: dict) -> tuple[tuple[str, ...], str | None]:
        """The clip's frame paths in frame order, or a problem message."""
        folder = self.clip_dir(row)
        if not folder.is_dir():
            return (
                (),
                f"{self.where(row)}: frame folder {folder} does not exist; expected layout {self.layout}",
            )
        numbered = numbered_frames(folder)
        if self.frames_span_recording:
            low, high = row.get("onset"), row.get("offset")
            numbered = [
                (n, p) for n, p in numbered if (low is None or n >= low) and (high is None or n <= high)
            ]
        if not numbered:
            span = f" numbered {row.get('onset')}–{row.get('offset')}" if self.frames_span_recording else ""
            kinds = "/".join(FRAME_SUFFIXES)
            return (), f"{self.where(row)}: frame folder {folder} holds no frame images{span} ({kinds})"
        return tuple(str(p) for _, p in numbered), None

    def _table(self, label_map: LabelMap, rows: list[dict]) -> SampleTable:
        samples = []
        for row in rows:
            extra = {k: v for k, v in row.items() if k not in ("subject", "clip", "sheet")}
            samples.append(
                {
                    **extra,
                    "dataset": self.name,
                    "subject": row["subject"],
                    "clip_id": make_clip_id(self.name, row["subject"], row["clip"]),
                    "clip": row["clip"],
                    "face_geometry": self.face_geometry,
                }
            )
        return build_table(f"{self.name}:{label_map.name}", label_map.classes, samples)

    def load(self, label_map: str | None = None, *, frames: bool = True) -> SampleTable:
        """The clips the label map keeps, as a validated table. With a root and ``frames``, every clip must
        have its frames; ``frames=False`` reads the annotations only (``frames=()``), e.g. from a sheets-only
        copy."""
        chosen = self.label_map(label_map)
        rows = self.annotated_rows(chosen)
        if self.root is not None and frames:
            for row in rows:
                frames, problem = self._frames(row)
                if problem:
                    raise DataNotFoundError(problem)
                row["frames"] = frames
        return self._table(chosen, rows)

    def check(self, label_map: str | None = None, *, all_frames: bool = False) -> CheckReport:
        """Validate a copy without stopping at the first problem: missing folders and frames (onset, apex,
        offset), damaged images (the key frames, or every frame with ``all_frames``), annotation defects."""
        chosen = self.label_map(label_map)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            rows = self.annotated_rows(chosen)
        notes = [str(w.message) for w in caught]
        problems = []
        if self.root is None:
            notes.append(f"{self.title}: no data folder given, frames not checked")
        else:
            for row in rows:
                frames, problem = self._frames(row)
                row["frames"] = frames
                if problem:
                    problems.append(problem)
                    continue
                problems.extend(self._check_frames(row, frames, all_frames))
        return CheckReport(self._table(chosen, rows), problems, notes)

    def _check_frames(self, row: dict, frames: tuple[str, ...], all_frames: bool) -> list[str]:
        by_number = {frame_number(p): p for p in frames}
        problems = []
        for phase in ("onset", "apex", "offset"):
            number = row.get(phase)
            if number is not None and number not in by_number:
                problems.append(
                    f"{self.where(row)}: {phase} frame {number} is missing from {self.clip_dir(row)}"
                )
        # A key frame can be two phases (CK+: apex = offset): open it, and report it, once.
        to_open = (
            frames
            if all_frames
            else dict.fromkeys(by_number[row[p]] for p in ("onset", "apex", "offset") if row.get(p) in by_number)
        )
        for path in to_open:
            problem = damage(Path(path).read_bytes())  # decoded whole: verify() passes a truncated JPEG
            if problem is not None:
                problems.append(f"{self.where(row)}: image {path} is damaged ({problem}); replace the file")
        return problems


class StillImageAdapter(DatabaseAdapter):
    """Base of the macro-expression databases of still photographs (CK+ stills, CK+48, JAFFE, FER-2013).

    One row per image rather than per clip: the image is the only frame and the ``apex_path`` column, so
    the apex input builder reads it like a micro-expression apex crop. Databases that ship pixels instead of
    files (FER-2013) put the uint8 array in ``apex_image`` instead.

    The images are kept as shipped. Where they are full photographs (JAFFE 256x256, CK+ 640x490) the
    adapter declares ``face_geometry = "detect"`` and the apex builder detects, aligns and crops the face at
    the model's size; face crops (CK+48, FER-2013) declare "as-cropped" and are resized as they are. The
    input settings ``still_faces`` (as-given, detect) and ``face_geometry`` override the declaration.
    """

    default_sheets = ()
    has_sheet = False

    def load(self, label_map: str | None = None, *, frames: bool = True) -> SampleTable:
        """One row per image; ``frames=False`` skips checking that the image files exist."""
        chosen = self.label_map(label_map)
        rows = self.annotated_rows(chosen)
        if frames:
            missing = [row for row in rows if "apex_path" in row and not Path(row["apex_path"]).is_file()]
            if missing:
                raise DataNotFoundError(
                    f"{self.where(missing[0])}: image {missing[0]['apex_path']} does not exist "
                    f"({len(missing)} missing in all); expected layout {self.layout}"
                )
        return self._table(chosen, rows)

    def check(self, label_map: str | None = None, *, all_frames: bool = False) -> CheckReport:
        """Every image is opened (``all_frames`` changes nothing: each row has one image)."""
        chosen = self.label_map(label_map)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            rows = self.annotated_rows(chosen)
        problems = []
        for row in rows:
            if "apex_path" not in row:
                continue
            path = Path(row["apex_path"])
            problem = damage(path.read_bytes()) if path.is_file() else None
            if not path.is_file():
                problems.append(f"{self.where(row)}: image {path} does not exist")
            elif problem is not None:
                problems.append(f"{self.where(row)}: image {path} is damaged ({problem})")
        return CheckReport(self._table(chosen, rows), problems, [str(w.message) for w in caught])


def image_row(subject: str, path: Path, emotion: str, root: Path, **extra: object) -> dict:
    """A still-image row in the form ``read_clips`` returns; the image is its only frame."""
    return {
        "subject": subject,
        "clip": path.stem,
        "emotion": emotion,
        "onset": None,
        "apex": None,
        "offset": None,
        "aus": "",
        "sheet": str(path.relative_to(root)),
        "apex_path": str(path),
        "frames": (str(path),),
        **extra,
    }
