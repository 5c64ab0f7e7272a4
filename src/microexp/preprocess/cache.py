"""A disk cache of preprocessed arrays keyed by the bytes of the input files and the parameters.

Keys hash file *contents*, not paths or modification times, so a moved database still hits and a
re-extracted frame misses. Writes go to a temporary file in the cache folder and are renamed into
place (atomic on one filesystem): an interrupted run leaves at most a ``*.tmp`` file, which no
lookup ever reads, never a half-written entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from microexp.errors import DataNotFoundError

# Bump when the computation behind an entry changes, so old entries stop matching.
CACHE_VERSION = 1


def cache_key(files: Iterable[str | Path], params: Mapping[str, object]) -> str:
    """Hex digest of the files' bytes (in order) and the JSON of ``params``."""
    digest = hashlib.sha256(f"microexp-preprocess-v{CACHE_VERSION}".encode())
    for path in files:
        try:
            digest.update(Path(path).read_bytes())
        except FileNotFoundError as error:
            raise DataNotFoundError(f"frame {path} does not exist") from error
    digest.update(json.dumps(params, sort_keys=True, default=str).encode())
    return digest.hexdigest()


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
