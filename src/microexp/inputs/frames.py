"""T aligned frames of a clip, onset to offset: the face found on the onset frame, every frame cropped by
that one alignment at the declared side (or every frame resized whole, ``face_geometry="as-cropped"``),
then ``frame_sampling``: ``uniform`` takes the T frames nearest to evenly spaced times (frames repeat when
the clip is shorter than T), ``linear`` and ``tim`` resample the whole clip to T frames
(:func:`microexp.preprocess.interpolate.resample`; TIM is the temporal interpolation model). Grey (C = 1)
or the grey crop repeated (C = 3). Values 0-255."""

from __future__ import annotations

import numpy as np

from microexp.errors import ConfigError
from microexp.inputs.clip import aligned, clip_frames, face_record, phases
from microexp.inputs.registry import Builder, register_builder
from microexp.preprocess.interpolate import resample


def _positions(row, count, sampling):
    frames = clip_frames(row)
    where = phases(frames, row)
    span = list(range(where.onset, where.last + 1))
    if sampling == "uniform":
        picks = np.rint(np.linspace(0, len(span) - 1, count)).astype(int)
        return frames, sorted({span[i] for i in picks}), [span[i] for i in picks]
    return frames, span, span


@register_builder
class AlignedFrames(Builder):
    name = "frames"
    kind = "frames"
    settings_used = ("face_backend", "no_face", "margin", "frame_sampling", "face_geometry")
    columns = ("frames", "frame_images")

    def check_shape(self, shape):
        super().check_shape(shape)
        if shape[0] < 2 or shape[1] not in (1, 3) or shape[2] != shape[3]:
            raise ConfigError(f"frames are (T >= 2, 1 or 3, S, S), got {shape}")

    def sources(self, row, settings):
        # the frames picked depend on T, which is in the key: key on the whole span
        frames = clip_frames(row)
        where = phases(frames, row)
        return frames.sources(list(range(where.onset, where.last + 1)))

    def build(self, row, shape, settings):
        count, channels, side = shape[0], shape[1], shape[-1]
        frames, read, picked = _positions(row, count, settings.frame_sampling)
        crops, face = aligned(frames, read, settings, size=side)
        if settings.frame_sampling == "uniform":
            order = {position: i for i, position in enumerate(read)}
            clip = crops[[order[p] for p in picked]].astype(np.float32)
        elif len(crops) == 1:
            clip = np.repeat(crops.astype(np.float32), count, axis=0)
        else:
            clip = resample(crops, count, settings.frame_sampling)
        clip = np.repeat(clip[:, None], channels, axis=1)
        return np.ascontiguousarray(clip, dtype=np.float32), face_record(face)
