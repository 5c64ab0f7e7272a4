"""Every file microexp writes is written atomically: to a temporary file in the destination's folder, then
renamed over the destination. A reader, a resumed run or a user after a kill sees the old file or the
complete new one, never a half-written one. No fsync: a rename survives a killed process, which is what
runs meet; a power cut is the file system's business.

A folder that cannot be made or written is one clear error naming the path, never a traceback or a
"wrote ..." for a file that is not there.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from microexp.errors import MicroexpError, OutputError, UnreadableFileError


def cache_root() -> Path:
    """The folder for what microexp derives and keeps between runs (built inputs, a serialised detector):
    ``$MICROEXP_CACHE``, else ``~/.cache/microexp``."""
    return Path(os.environ.get("MICROEXP_CACHE", Path.home() / ".cache" / "microexp"))


def _unwritable(path: Path, error: OSError) -> OutputError:
    blocker = next((folder for folder in path.parents if folder.exists()), None)
    # the operating system says "File exists" or "Not a directory" for this; neither names the culprit
    reason = f"{blocker} is a file, not a folder" if blocker and not blocker.is_dir() else error.strerror or str(error)
    return OutputError(f"cannot write {path}: {reason}; choose a path in a folder you can write to")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path to write in place of ``path``; renamed onto ``path`` when the block ends without
    an error, removed otherwise. It keeps ``path``'s suffix, so writers that pick the format from the
    name (OpenCV, matplotlib, PyAV, numpy) write the same format."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _unwritable(path, error) from None
    temporary = path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp{path.suffix}"
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException as error:
        temporary.unlink(missing_ok=True)
        if isinstance(error, OSError) and not isinstance(error, MicroexpError):
            raise _unwritable(path, error) from None
        raise


def write_bytes(path: str | Path, data: bytes) -> Path:
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, data: Mapping[str, Any] | list[Any]) -> Path:
    """``data`` as indented JSON; what JSON cannot hold (paths, numpy scalars) is written as text."""
    return write_text(path, json.dumps(data, indent=2, default=str))


def write_image(path: str | Path, image: np.ndarray, params: list[int] | None = None) -> Path:
    """An image in the format ``path``'s suffix names; ``image`` is RGB (H, W, 3) or grey (H, W) uint8."""
    import cv2

    pixels = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
    with atomic_path(path) as temporary:
        # OpenCV raises for a suffix it knows no writer of, and answers False for a write that failed
        try:
            written = cv2.imwrite(str(temporary), pixels, params or [])
        except cv2.error:
            written = False
        if not written:
            kind = Path(path).suffix or "a name without a suffix"
            raise OutputError(f"cannot write the image {path}: OpenCV cannot write {kind}; name it .png or .jpg")
    return Path(path)


def write_figure(path: str | Path, figure: Any, dpi: int) -> Path:
    """A matplotlib figure in the format ``path``'s suffix names (a name without one: PNG)."""
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=dpi, format=Path(path).suffix.lstrip(".") or "png")
    return Path(path)


def file_record(path: Path) -> dict[str, Any]:
    """A file's size and sha256, as a manifest records them."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def check_manifest(folder: Path, names: tuple[str, ...], manifest_name: str, remedy: str) -> None:
    """Every file of ``names`` that ``folder``'s manifest lists is there, byte for byte (sizes, then sha256);
    one line naming the file and saying ``remedy`` if not. A folder saved before manifests existed is
    read with a warning."""
    path = folder / manifest_name
    if not path.is_file():
        warnings.warn(
            f"{folder} has no {manifest_name} (saved before bundles carried checksums), so damage to its files "
            "cannot be detected; train it again with `microexp train` to add one",
            stacklevel=3,
        )
        return
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UnreadableFileError(f"{path} is not valid JSON ({error}); {remedy}") from None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or sorted(files) != sorted(names):
        raise UnreadableFileError(f"{path} does not list the files {list(names)}; {remedy}")
    for name, expected in files.items():
        try:
            actual = file_record(folder / name)
        except OSError as error:  # a file the manifest lists is gone or unreadable: one line, not a traceback
            raise UnreadableFileError(f"{folder / name} cannot be read ({error.strerror}); {remedy}") from None
        if actual != expected:
            raise UnreadableFileError(
                f"{folder / name} is not the file the bundle was saved with ({actual['bytes']} bytes now, "
                f"{expected.get('bytes') if isinstance(expected, dict) else '?'} in {manifest_name}, checksums "
                f"differ): it was damaged or changed since; {remedy}"
            )
