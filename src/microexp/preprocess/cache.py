"""A disk cache of arrays under keys the caller makes (the input builders hash the bytes of the files they
read and their settings: :func:`microexp.inputs.build.entry_key`).

Writes go to a temporary file in the cache folder and are renamed into place (atomic on one filesystem):
an interrupted run leaves at most a ``*.tmp`` file, which no lookup ever reads, never a half-written entry.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np


class ArrayCache:
    """``.npy`` entries in one folder, two-level fan-out by key prefix."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        path = self.path(key)
        if not path.is_file():
            return None
        return np.load(path, allow_pickle=False)

    def put(self, key: str, array: np.ndarray) -> Path:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                np.save(file, array, allow_pickle=False)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return path
