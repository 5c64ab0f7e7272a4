"""Turning a sample table into the array a model declares it takes (its InputSpec)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from microexp.data.images import read_image
from microexp.data.schema import SampleTable
from microexp.errors import DataError
from microexp.models.registry import InputSpec


def resize_image(image: np.ndarray, size: int) -> np.ndarray:
    """(H, W, C) uint8 image resized to size × size, channel by channel (as every model input is)."""
    if image.shape[0] == size and image.shape[1] == size:
        return image
    channels = [
        np.asarray(Image.fromarray(image[..., c]).resize((size, size), Image.BILINEAR)) for c in range(image.shape[2])
    ]
    return np.stack(channels, axis=-1)


def _column(table: SampleTable, column: str, spec: InputSpec) -> list[str]:
    if column not in table.samples.columns:
        raise DataError(
            f"{table.name}: models with input {spec.describe()} need the column {column!r}, which this table "
            "lacks; preprocess the database first (microexp preprocess) or choose a model for the inputs you have"
        )
    return table.samples[column].tolist()


def _apex_images(table: SampleTable, spec: InputSpec, mode: str) -> list[np.ndarray]:
    """Apex images in memory (``apex_image``: databases that ship pixels, or face crops made at load) where
    the table has them, else read from ``apex_path``."""
    if "apex_image" in table.samples.columns:
        return table.samples["apex_image"].tolist()
    clip_ids = table.samples["clip_id"].tolist()
    paths = _column(table, "apex_path", spec)
    pairs = zip(clip_ids, paths, strict=True)
    return [read_image(path, mode=mode, what=f"clip {clip}") for clip, path in pairs]


def _as_mode(image: np.ndarray, mode: str) -> np.ndarray:
    """(H, W, C) uint8 in ``mode``: grey arrays are repeated to RGB, RGB arrays converted to grey."""
    image = image[..., None] if image.ndim == 2 else image
    if mode == "RGB" and image.shape[2] == 1:
        return np.repeat(image, 3, axis=2)
    if mode == "L" and image.shape[2] == 3:
        return np.asarray(Image.fromarray(image).convert("L"))[..., None]
    return image


def load_inputs(table: SampleTable, spec: InputSpec) -> np.ndarray:
    """float32 array (N, C, H, W) with raw 0–255 values; normalisation is the engine's job (train fold only)."""
    clip_ids = table.samples["clip_id"].tolist()
    arrays = []
    if spec.modality in ("flow", "apex+flow"):
        flows = [
            resize_image(read_image(path, mode="RGB", what=f"clip {clip}"), spec.size)
            for clip, path in zip(clip_ids, _column(table, "flow_path", spec), strict=True)
        ]
        arrays.append(np.stack(flows))
    if spec.modality in ("apex", "apex+flow"):
        flow_channels = arrays[0].shape[-1] if arrays else 0
        apex_channels = spec.channels - flow_channels
        mode = "L" if apex_channels == 1 else "RGB"
        faces = [resize_image(_as_mode(image, mode), spec.size) for image in _apex_images(table, spec, mode)]
        arrays.insert(0, np.stack(faces))
    if spec.modality == "frames":
        raise DataError(
            f"{table.name}: frame-sequence inputs are built by the preprocessing stage; none are cached yet"
        )
    stacked = np.concatenate(arrays, axis=-1)
    if spec.modality == "flow":
        stacked = stacked[..., : spec.channels]  # u, v first: a 2-channel model takes u and v
    return np.ascontiguousarray(stacked.transpose(0, 3, 1, 2), dtype=np.float32)
