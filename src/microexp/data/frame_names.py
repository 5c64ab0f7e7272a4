"""The frame number a frame file's name gives. Apart from the adapters (and their pandas) because reading a
frame folder or a video needs it too, and ``predict`` imports no table machinery."""

from __future__ import annotations

import re
from pathlib import Path

from microexp.errors import DataError

_TRAILING_NUMBER = re.compile(r"(\d+)$")


def frame_number(path: str | Path) -> int:
    """The frame number a database gives a frame: the digits that end the file stem.

    ``img46.jpg`` -> 46, ``reg_img012.jpg`` -> 12, ``006_05562.jpg`` -> 5562, ``15.jpg`` -> 15. Only the
    digits at the end count, so ``img46_flow.jpg`` is not frame 46 of the clip.
    """
    match = _TRAILING_NUMBER.search(Path(path).stem)
    if match is None:
        raise DataError(f"frame {path}: no frame number ends its name; name frames like img46.jpg")
    return int(match.group(1))
