"""Reading the image files that adapters point to, with errors that name the clip and the file.

Decoding is strict: a truncated or damaged file is an error, never an image with its missing part filled
in. PIL refuses truncated files as long as ``ImageFile.LOAD_TRUNCATED_IMAGES`` stays off, which microexp
never changes; OpenCV instead fills a truncated JPEG with grey and only prints a warning, so frames read
with OpenCV are first checked here (:func:`damage`).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from microexp.errors import DataNotFoundError, UnreadableFileError


def read_image(path: str | Path, *, mode: str, what: str) -> np.ndarray:
    """An image as a uint8 array (H, W, C); ``mode`` is a PIL mode ("RGB", "L"); ``what`` names the clip."""
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"{what}: image {path} does not exist")
    try:
        with Image.open(path) as image:
            array = np.asarray(image.convert(mode))
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise UnreadableFileError(f"{what}: image {path} cannot be read ({error}); replace the file") from None
    return array[..., None] if array.ndim == 2 else array


def damage(data: bytes) -> str | None:
    """Why the encoded image ``data`` is not whole (every pixel is decoded to find out), or None."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        return str(error) or type(error).__name__
    return None
