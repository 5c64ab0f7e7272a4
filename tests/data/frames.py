"""Frame trees in each vendor's layout, generated at test time from an adapter's own clip rows."""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from pathlib import Path

from PIL import Image


def tiny_image(suffix: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (4, 4), 128).save(buffer, format={".jpg": "JPEG", ".bmp": "BMP", ".png": "PNG"}[suffix])
    return buffer.getvalue()


def write_key_frames(adapter, name: Callable[[dict, int], str], label_map: str | None = None) -> int:
    """Onset, apex and offset frames of every clip of ``label_map`` under ``adapter.root``; the count."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = adapter.annotated_rows(adapter.label_map(label_map))
    payloads: dict[str, bytes] = {}
    written = 0
    for row in rows:
        folder = adapter.clip_dir(row)
        folder.mkdir(parents=True, exist_ok=True)
        for number in {row[p] for p in ("onset", "apex", "offset") if row.get(p) is not None}:
            file_name = name(row, number)
            suffix = Path(file_name).suffix
            payloads.setdefault(suffix, tiny_image(suffix))
            (folder / file_name).write_bytes(payloads[suffix])
            written += 1
    return written
