"""The apex face: the image a database ships for it (``apex_image`` pixels, or the ``apex_path`` file: the
composite's 224×224 crops, a still photograph), or else the apex frame of the clip cropped by the clip's
face alignment. Grey (1 channel) or RGB (3), resized to the declared side.

A shipped image is used as it is (``still_faces`` "as-given": a face crop) or its face is detected, aligned
and cropped ("detect": a full photograph). "auto" follows the database's declaration: JAFFE, CK+ and CK+
stills declare full photographs, so their faces are cropped without a flag. A photograph without a face
raises (``no_face="raise"``) or is used whole, which the built input records and ``build_inputs`` warns
about (``no_face="frame"``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from microexp.data.images import read_image
from microexp.errors import ConfigError, NoFaceError
from microexp.inputs.clip import aligned, clip_frames, face_record, phases
from microexp.inputs.images import as_channels, channels_first, resize_image
from microexp.inputs.registry import Builder, _filled, register_builder
from microexp.preprocess.align import alignment_matrix, warp
from microexp.preprocess.faces import best_face, get_detector


def _has(row, column):
    return column in row and _filled(row[column])


def _face_of(image, side, settings, where):
    """The face of a still photograph: detected on its grey version, aligned on the eyes, cropped to
    ``side``; colour kept when the photo has it."""
    grey = as_channels(image, 1)[..., 0]
    try:
        face = best_face(grey, get_detector(settings.face_backend), where, settings.no_face)
    except NoFaceError:
        raise NoFaceError(
            f"{where}: the {settings.face_backend} backend found no face in this photograph; check the image, "
            "try --set inputs.face_backend=mtcnn, pass --set inputs.no_face=frame to use the whole photograph "
            "(with a warning), or --set inputs.still_faces=as-given if the images are face crops already"
        ) from None
    matrix = alignment_matrix(face, side, settings.margin)
    crop = warp(image if image.shape[2] == 3 else grey, matrix, side)
    return (crop if crop.ndim == 3 else crop[..., None]), {**face_record(face), "still_face": True}


@register_builder
class ApexFace(Builder):
    name = "apex"
    kind = "image"
    settings_used = ("face_backend", "no_face", "margin", "still_faces", "face_geometry")
    columns = ("apex_image", "apex_path", "frames", "frame_images")

    def check_shape(self, shape):
        super().check_shape(shape)
        if shape[0] not in (1, 3):
            raise ConfigError(f"an apex face has 1 (grey) or 3 (RGB) channels, got shape {shape}")

    def sources(self, row, settings):
        if _has(row, "apex_image"):
            return [np.asarray(row["apex_image"])]
        if _has(row, "apex_path"):
            return [Path(row["apex_path"])]
        frames = clip_frames(row)
        where = phases(frames, row)
        return frames.sources([where.onset, where.last if where.apex is None else where.apex])

    def build(self, row, shape, settings):
        channels, side = shape[0], shape[-1]
        mode = "L" if channels == 1 else "RGB"
        if _has(row, "apex_image") or _has(row, "apex_path"):
            if _has(row, "apex_image"):
                image = as_channels(np.asarray(row["apex_image"]), channels)
                where = f"clip {row['clip_id']}"
            else:
                image = read_image(row["apex_path"], mode=mode, what=f"clip {row['clip_id']}")
                where = f"clip {row['clip_id']}: image {row['apex_path']}"
            info = {}
            if settings.still_faces == "detect":
                image, info = _face_of(image, side, settings, where)
        else:
            frames = clip_frames(row)
            where = phases(frames, row)
            # No annotated apex: the offset (or last) frame stands in; spotting needs a flow, which the
            # flow builder does.
            apex = where.last if where.apex is None else where.apex
            crops, face = aligned(frames, [where.onset, apex], settings, size=side)
            image, info = as_channels(crops[1], channels), face_record(face)
        return channels_first(resize_image(as_channels(image, channels), side)), info
