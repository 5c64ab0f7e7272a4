"""What a run read: per clip, its annotations and a digest of the bytes of every file its inputs are made
from. A run folder keeps it, so resuming on data changed since (a label edited, a frame replaced, clips
added) is refused with what changed, instead of mixing old folds with new ones.

Hashing every frame of a database on every resume would cost minutes; a file's sha256 is kept in
``file_hashes.json`` in the input cache folder and reused while the file's size and modification time
are those it was hashed with.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from microexp.data.schema import SampleTable
from microexp.errors import DataNotFoundError
from microexp.files import write_json
from microexp.inputs.registry import row_builders
from microexp.inputs.spec import InputSettings, InputSpec

HASHES_FILE = "file_hashes.json"
# the annotations that decide a clip's training and scoring; the clip id is the key
ANNOTATIONS = ("dataset", "subject", "label", "emotion", "onset", "apex", "offset", "aus", "role", "domain")
SHOWN = 3  # changes named in a message, per kind


class FileHashes:
    """sha256 of files, remembered by (path, size, mtime) in ``folder`` (None: remembered in memory only)."""

    def __init__(self, folder: Path | None) -> None:
        self.path = None if folder is None else Path(folder) / HASHES_FILE
        self.known: dict[str, list] = {}
        if self.path is not None and self.path.is_file():
            try:
                self.known = json.loads(self.path.read_text())
            except (UnicodeDecodeError, json.JSONDecodeError):
                self.known = {}  # a damaged cache only costs rehashing
        self.changed = False

    def digest(self, path: str | Path) -> str:
        path = Path(path).resolve()
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise DataNotFoundError(f"{path} does not exist; check your copy of the database") from None
        key, stamp = str(path), [stat.st_size, stat.st_mtime_ns]
        entry = self.known.get(key)
        if isinstance(entry, list) and len(entry) == 3 and entry[:2] == stamp:
            return entry[2]
        digest = hashlib.sha256()
        with path.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
        self.known[key] = [*stamp, digest.hexdigest()]
        self.changed = True
        return digest.hexdigest()

    def save(self) -> None:
        if self.path is not None and self.changed:
            write_json(self.path, self.known)


def data_fingerprint(
    table: SampleTable,
    specs: Mapping[str, InputSpec],
    settings: InputSettings,
    cache_dir: Path | None = None,
) -> dict[str, Any]:
    """{"classes": [...], "clips": {clip_id: {annotation: text, ..., "files": digest}}} for every row of
    ``table``: the digest covers the bytes of every file (or in-memory frame) the inputs ``specs`` are
    made from with ``settings``."""
    hashes = FileHashes(cache_dir)
    samples = table.samples
    builders = {name: row_builders(spec, samples, table.name) for name, spec in specs.items()}
    columns = [column for column in ANNOTATIONS if column in samples]
    clips: dict[str, dict[str, str]] = {}
    for position, row in enumerate(samples.to_dict("records")):
        row_settings = settings.resolve_for_row(row)
        digest = hashlib.sha256()
        for name, of_rows in builders.items():
            builder = of_rows[position]
            digest.update(name.encode())
            for part in builder.sources(row, row_settings):
                if isinstance(part, np.ndarray):
                    digest.update(np.ascontiguousarray(part).tobytes())
                else:
                    digest.update(hashes.digest(part).encode())
        record = {column: str(row[column]) for column in columns}
        clips[str(row["clip_id"])] = {**record, "files": digest.hexdigest()[:16]}
    hashes.save()
    return {"classes": list(table.classes), "clips": clips}


def describe_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What differs between two fingerprints, in words ("label of casme2/sub01/EP02_01f: 0 in the folder,
    2 now"); empty when they are the same."""
    changes = []
    if old.get("classes") != new.get("classes"):
        changes.append(f"classes {old.get('classes')} in the folder, {new.get('classes')} now")
    before, after = old.get("clips", {}), new.get("clips", {})
    removed = [clip for clip in before if clip not in after]
    added = [clip for clip in after if clip not in before]
    edited: dict[str, list[str]] = {}
    for clip in before:
        if clip in after:
            for field in dict.fromkeys([*before[clip], *after[clip]]):  # label before emotion, files last
                if before[clip].get(field) != after[clip].get(field):
                    edited.setdefault(field, []).append(clip)
    for field, clips in edited.items():
        if field == "files":
            what = f"the input files of {_some(clips)} changed"
        else:
            shown = [f"{clip}: {before[clip].get(field)} in the folder, {after[clip].get(field)} now" for clip in clips]
            what = f"{field} of {len(clips)} clip(s) changed ({'; '.join(shown[:SHOWN])}{_more(clips)})"
        changes.append(what)
    if removed:
        changes.append(f"{_some(removed)} no longer in the data")
    if added:
        changes.append(f"{_some(added)} new in the data")
    return changes


def _more(clips: list[str]) -> str:
    return f"; and {len(clips) - SHOWN} more" if len(clips) > SHOWN else ""


def _some(clips: list[str]) -> str:
    return f"{len(clips)} clip(s) ({', '.join(clips[:SHOWN])}{' …' if len(clips) > SHOWN else ''})"
