"""A disk cache of arrays under keys the caller makes (the input builders hash the bytes of the files they
read and their settings: :func:`microexp.inputs.build.entry_key`).

Writes are atomic (:mod:`microexp.files`): an interrupted run leaves at most a hidden temporary file, which
no lookup ever reads, never a half-written entry.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from microexp.files import atomic_path


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
        with atomic_path(path) as temporary:
            np.save(temporary, array, allow_pickle=False)
        return path
