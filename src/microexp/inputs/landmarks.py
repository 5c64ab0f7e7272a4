"""Onset→apex displacement of the 68 facial landmarks: a geometric input (136 values: x then y of each
point's move, in pixels of the clip's aligned face crop, so faces of any size compare).

dlib's 68-point shape predictor runs on the onset frame's face and, inside the same face box, on the apex
frame (a micro-expression moves the face by a few pixels, well inside the box); both point sets are mapped
into the onset's aligned crop (with ``face_geometry="as-cropped"``, the whole onset frame resized to the
square, the crop the other inputs of such a clip are made in). Without an annotated apex the offset (or
last) frame stands in. dlib only: MTCNN gives 5 points. A feature vector cannot be mirrored without
re-indexing the points, so the engine refuses ``augment_flip`` and ``test_flip`` for it.
"""

from __future__ import annotations

import numpy as np

from microexp.errors import ConfigError
from microexp.inputs.clip import clip_frames, face_record, phases
from microexp.inputs.registry import Builder, register_builder
from microexp.preprocess.align import alignment_matrix, whole_frame_matrix
from microexp.preprocess.faces import best_face, get_detector

POINTS = 68


def _positions(row):
    frames = clip_frames(row)
    where = phases(frames, row)
    return frames, [where.onset, where.last if where.apex is None else where.apex]


@register_builder
class LandmarkDisplacement(Builder):
    name = "landmarks"
    kind = "vector"
    settings_used = ("no_face", "crop_size", "margin", "face_geometry")
    columns = ("frames", "frame_images")

    def check_shape(self, shape):
        super().check_shape(shape)
        if shape != (2 * POINTS,):
            raise ConfigError(f"landmark displacements are ({2 * POINTS},): x then y of {POINTS} points, got {shape}")

    def sources(self, row, settings):
        frames, positions = _positions(row)
        return frames.sources(positions)

    def build(self, row, shape, settings):
        frames, positions = _positions(row)
        onset, apex = frames.read(positions)
        detector = get_detector("dlib")
        face = best_face(onset, detector, f"{frames.name} frame {frames.numbers[positions[0]]}", settings.no_face)
        if face.scheme != "ibug68":
            raise ConfigError(f"{frames.name}: landmark displacements need dlib's 68 points on the onset face")
        if settings.flow.geometry == "as-cropped":
            matrix = whole_frame_matrix(onset.shape[1], onset.shape[0], settings.crop_size)
        else:
            matrix = alignment_matrix(face, settings.crop_size, settings.margin)

        def to_crop(points):
            return points @ matrix[:, :2].T + matrix[:, 2]

        moved = to_crop(detector.landmarks(apex, face.box)) - to_crop(face.landmarks)
        return np.concatenate([moved[:, 0], moved[:, 1]]).astype(np.float32), face_record(face)
