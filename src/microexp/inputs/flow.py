"""The onset→apex optical flow of a clip computed from its frames: the face found on the onset frame,
both frames cropped by that one alignment (or both resized whole when they are the database's face crops,
``face_geometry="as-cropped"``), TV-L1 (or the chosen method) between them, then u, v and
optical strain at ``flow_size`` pixels, scaled to 0-255 as the composite's PNGs are (``norm``), and
resized to the declared side. Without an annotated apex (SMIC), the apex is the frame between onset and
offset that moved most from the onset; the built input records it (``apex``, ``apex_method``)."""

from __future__ import annotations

from microexp.inputs.clip import aligned, clip_frames, face_record, phases
from microexp.inputs.images import channels_first, resize_image
from microexp.inputs.registry import Builder, register_builder
from microexp.preprocess.flow import compute_flow, flow_features, normalise
from microexp.preprocess.spotting import spot_apex


def _positions(row):
    frames = clip_frames(row)
    where = phases(frames, row)
    if where.apex is not None:
        return frames, [where.onset, where.apex], None
    return frames, list(range(where.onset, where.last + 1)), "spot"


@register_builder
class ComputedFlow(Builder):
    name = "flow"
    kind = "flow"
    settings_used = (
        "face_backend",
        "no_face",
        "crop_size",
        "margin",
        "flow_method",
        "flow_params",
        "flow_size",
        "norm",
        "face_geometry",
    )
    columns = ("frames", "frame_images")

    def sources(self, row, settings):
        frames, positions, _ = _positions(row)
        return frames.sources(positions)

    def build(self, row, shape, settings):
        frames, positions, spot = _positions(row)
        crops, face = aligned(frames, positions, settings)
        if spot:
            found = spot_apex(crops, method="flow")
            apex, method = found.index, found.method
        else:
            apex, method = len(crops) - 1, "annotation"
        flow = compute_flow(crops[0], crops[apex], settings.flow_method, settings.flow.flow_params)
        image = normalise(flow_features(flow, settings.flow_size), settings.norm)
        info = {"apex": frames.numbers[positions[apex]], "apex_method": method, **face_record(face)}
        return channels_first(resize_image(image, shape[-1])[..., : shape[0]]), info
