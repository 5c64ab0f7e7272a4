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
        faces = [
            resize_image(read_image(path, mode=mode, what=f"clip {clip}"), spec.size)
            for clip, path in zip(clip_ids, _column(table, "apex_path", spec), strict=True)
        ]
        arrays.insert(0, np.stack(faces))
    if spec.modality == "frames":
        raise DataError(
            f"{table.name}: frame-sequence inputs are built by the preprocessing stage; none are cached yet"
        )
    stacked = np.concatenate(arrays, axis=-1)
    if spec.modality == "flow":
        stacked = stacked[..., : spec.channels]  # u, v first: a 2-channel model takes u and v
    return np.ascontiguousarray(stacked.transpose(0, 3, 1, 2), dtype=np.float32)
