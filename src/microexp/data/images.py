"""Reading the image files that adapters point to, with errors that name the clip and the file."""

from __future__ import annotations

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
