"""The dynamic image of a clip (:mod:`microexp.preprocess.dynamic`): every frame from onset to offset (or
to the apex when no offset is annotated), cropped by the clip's one face alignment at the declared side (or
resized whole where the frames are a database's face crops, ``face_geometry``), rank-pooled, and min-max
scaled to 0-255 per clip (a still clip is mid-grey). Grey (C = 1) or the grey image repeated (C = 3).

Every frame of the span is used, not a fixed number: the dynamic image of a clip does not depend on how a
model samples it. A model that samples T frames and wants the dynamic image of those (FDP's target)
computes it from its own input, which rank pooling's linearity makes exact after standardisation.
"""

from __future__ import annotations

import numpy as np

from microexp.errors import ConfigError
from microexp.inputs.clip import aligned, clip_frames, face_record, phases
from microexp.inputs.registry import Builder, register_builder
from microexp.preprocess.dynamic import dynamic_image, to_unit_range


def _span(row):
    frames = clip_frames(row)
    where = phases(frames, row)
    return frames, list(range(where.onset, where.last + 1))


@register_builder
class DynamicImage(Builder):
    name = "dynamic_image"
    kind = "image"
    settings_used = ("face_backend", "no_face", "margin", "face_geometry")
    columns = ("frames", "frame_images")

    def check_shape(self, shape):
        super().check_shape(shape)
        if shape[0] not in (1, 3) or shape[1] != shape[2]:
            raise ConfigError(f"a dynamic image is (1 or 3, S, S), got {shape}")

    def sources(self, row, settings):
        frames, span = _span(row)
        return frames.sources(span)

    def build(self, row, shape, settings):
        frames, span = _span(row)
        crops, face = aligned(frames, span, settings, size=shape[-1])
        image = (255.0 * to_unit_range(dynamic_image(crops))).astype(np.float32)
        return np.ascontiguousarray(np.repeat(image[None], shape[0], axis=0)), face_record(face)
