"""The MEGC2019 composite (SMIC-HS + CASME II + SAMM, negative / positive / surprise, 442 clips) built from
the three databases' own annotations, so that it can be made from a user's copies rather than from the
distributed flow images.

Each adapter declares its part's emotion mapping (label map ``megc2019`` of CASME II and SAMM; SMIC is already
3-class). Membership beyond the mapping comes from the official list and is written here, keyed by clip,
with the reason. Names follow the official list and :mod:`microexp.data.megc2019`: subjects ``casme2/sub01``,
``samm/006``, ``smic/s01``; SMIC clips ``s01_ne_01``; so clip ids match the distributed composite's.

Layout (``root``)::

    CASME2/   a CASME II copy (see casme2.py); its Cropped/ frames are read when the copy has them
    SAMM/     a SAMM copy (see samm.py), or SAMM_CROP/: the cropped copy, read when present
    SMIC/HS/  the SMIC-HS folder (see smic.py), or SMIC/SMIC_all_cropped/HS/: the crops, read when present

The distributed composite's flows were computed from the three databases' face crops, each resized whole
to the square. Where the copy has the crops, they are read and declared ``as-cropped``, so the computed
inputs are made the same way (docs/results/face_geometry.md measures how close); otherwise the raw frames
are read and their faces detected and aligned.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from microexp.data.base import CheckReport, LabelMap
from microexp.data.casme2 import CASME2, LAYOUTS
from microexp.data.samm import SAMM
from microexp.data.schema import SampleTable, make_clip_id
from microexp.data.smic import SMIC
from microexp.errors import ConfigError

CLASSES = ("negative", "positive", "surprise")
PARTS = ("casme2", "smic", "samm")  # the official list's order
# Clips the mapping admits but the official list leaves out.
EXCLUDED = {
    ("casme2", "sub04", "EP12_01f"): "its apex is written as '/' in the 2019 sheet; not in the official list",
    ("casme2", "sub05", "EP09_05f"): "its apex equals its onset (69); not in the official list",
}


def official_smic_name(name: str) -> str:
    """SMIC's s1 / s1_ne_01 are s01 / s01_ne_01 in the official list."""
    head, _, rest = name.partition("_")
    padded = f"s{int(head[1:]):02d}"
    return f"{padded}_{rest}" if rest else padded


def _casme2_part(base: Path | None) -> CASME2:
    if base is None:
        return CASME2(None)
    cropped = (base / "CASME2" / LAYOUTS["cropped"]).is_dir()
    return CASME2(base / "CASME2", layout="cropped" if cropped else "raw")


def _cropped_or_raw(adapter, base: Path | None, cropped: tuple[str, ...], raw: tuple[str, ...]):
    if base is None:
        return adapter(None)
    if base.joinpath(*cropped).is_dir():
        return adapter(base.joinpath(*cropped), cropped=True)
    return adapter(base.joinpath(*raw), cropped=False)


class MEGC2019Composite:
    """``load()`` returns the 442-clip composite; ``check()`` validates the three copies."""

    name = "megc2019-composite"
    title = "MEGC2019 composite"
    description = "MEGC2019 composite built from CASME II + SAMM + SMIC-HS annotations: 3 classes, 442 clips"
    layout = "CASME2/ (CASME II copy), SAMM/ (SAMM copy), SMIC/HS/ (SMIC-HS folder)"
    label_maps = {
        "3class": LabelMap(
            "3class", CLASSES, {c: c for c in CLASSES}, "negative / positive / surprise, the official MEGC2019 list"
        )
    }
    default_label_map = "3class"
    default_splitter = "loso"
    default_splitter_options = MappingProxyType({})

    def __init__(
        self,
        root: str | Path | None = None,
        *,
        casme2: CASME2 | None = None,
        samm: SAMM | None = None,
        smic: SMIC | None = None,
    ):
        base = Path(root) if root is not None else None
        self.parts = {
            "casme2": casme2 or _casme2_part(base),
            "smic": smic or _cropped_or_raw(SMIC, base, ("SMIC", "SMIC_all_cropped", "HS"), ("SMIC", "HS")),
            "samm": samm or _cropped_or_raw(SAMM, base, ("SAMM_CROP",), ("SAMM",)),
        }

    def _label_map_of(self, part: str) -> str:
        return "3class" if part == "smic" else "megc2019"

    def _check_label_map(self, label_map: str | None) -> None:
        if label_map not in (None, self.default_label_map):
            raise ConfigError(
                f"{self.title}: unknown label map {label_map!r}; expected {self.default_label_map!r}"
            )

    def load(self, label_map: str | None = None, *, frames: bool = True) -> SampleTable:
        self._check_label_map(label_map)
        tables = {
            part: adapter.load(self._label_map_of(part), frames=frames) for part, adapter in self.parts.items()
        }
        return self._combine(tables)

    def check(self, label_map: str | None = None, *, all_frames: bool = False) -> CheckReport:
        self._check_label_map(label_map)
        reports = {
            part: adapter.check(self._label_map_of(part), all_frames=all_frames)
            for part, adapter in self.parts.items()
        }
        table = self._combine({part: report.table for part, report in reports.items()})
        problems = [p for report in reports.values() for p in report.problems]
        notes = [n for report in reports.values() for n in report.notes]
        return CheckReport(table, problems, notes)

    def _combine(self, tables: dict[str, SampleTable]) -> SampleTable:
        frames = []
        for part in PARTS:
            samples = tables[part].samples.copy()
            if part == "smic":
                samples["subject"] = samples["subject"].map(official_smic_name)
                samples["clip"] = samples["clip"].map(official_smic_name)
            excluded = pd.Series(
                [(part, s, c) in EXCLUDED for s, c in zip(samples["subject"], samples["clip"], strict=True)],
                index=samples.index,
                dtype=bool,
            )
            for subject, clip in zip(samples["subject"][excluded], samples["clip"][excluded], strict=True):
                reason = EXCLUDED[(part, subject, clip)]
                warnings.warn(f"{self.title}: {part} clip {subject}/{clip} left out: {reason}", stacklevel=3)
            samples = samples[~excluded]
            samples["clip_id"] = [
                make_clip_id(part, s, c) for s, c in zip(samples["subject"], samples["clip"], strict=True)
            ]
            samples["subject"] = part + "/" + samples["subject"]
            frames.append(samples)
        return SampleTable(self.name, CLASSES, pd.concat(frames, ignore_index=True))
