"""Hand-crafted descriptors of a clip as cached feature vectors (kind ``vector``): ``lbp_top``, ``hoof``,
``mdmo`` and ``region_flow`` (the per-region flow statistics of the Li et al. pipeline), computed by the pure
functions of :mod:`microexp.features`.

From frames: the clip's frames from onset to offset (or to the apex where no offset is annotated, or to
the last frame) are cropped by one face alignment at ``crop_size`` (or taken whole,
``face_geometry="as-cropped"``). LBP-TOP reads all of them. The flow descriptors read the flows from the
onset to each later frame, at most :data:`MAX_FLOWS` of them evenly spaced (a 200 fps SAMM clip has a
hundred frames; sixteen flows follow its course at a sixth of the cost), computed with ``flow_method``.
The 36 regions come from 68 landmarks fitted in the onset crop: MTCNN's box, dlib's points
(:func:`~microexp.preprocess.faces.landmarks68`; a crop in which MTCNN finds no face is fitted whole).

From a database's shipped onset→apex flow (the composite's 28×28 PNGs, R = u, G = v, B = strain, each
min-max scaled to 0-255 per image, with its 224×224 apex face): the landmarks are fitted on the apex face
and scaled onto the flow's grid (both are the same face crop, resized). The PNG lost the flow's zero: the
median of u and of v over the whole crop stands in for it (the crop is mostly face, most of which does not
move), in the PNG's 0-255 units; the B channel is the strain.

The declared length fixes the layout: ``lbp_top`` (3 · B² · 59,) for B × B blocks (5 × 5: 4425); ``hoof``
(B² · 8,) for B × B blocks (4 × 4: 128); ``mdmo`` (72,); ``region_flow`` (36 · 12 = 432,).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from microexp.data.images import read_image
from microexp.errors import ConfigError
from microexp.features import REGION_COUNT, bin_count, hoof, lbp_top, mdmo, region_flow_statistics, region_map
from microexp.inputs.clip import aligned, clip_frames, face_record, phases
from microexp.inputs.registry import Builder, register_builder
from microexp.preprocess.faces import landmarks68
from microexp.preprocess.flow import compute_flow

MAX_FLOWS = 16
HOOF_BINS = 8
REGION_FLOW_LENGTH = REGION_COUNT * (4 + 8)
FLOW_SETTINGS = ("no_face", "crop_size", "margin", "flow_method", "flow_params", "face_geometry", "face_backend")


def _span(row):
    frames = clip_frames(row)
    where = phases(frames, row)
    return frames, list(range(where.onset, where.last + 1))


def _flow_positions(row):
    frames, span = _span(row)
    if len(span) < 2:
        return frames, span
    later = np.unique(np.rint(np.linspace(1, len(span) - 1, min(MAX_FLOWS, len(span) - 1))).astype(int))
    return frames, [span[0], *(span[i] for i in later)]


def _blocks(length: float, per_block: int, what: str) -> int:
    blocks = int(round(np.sqrt(max(length, 0) / per_block)))
    if blocks < 1 or blocks * blocks * per_block != length:
        raise ConfigError(f"{what} is (B² · {per_block},) for B × B blocks, got length {length}")
    return blocks


def _clip_flows(row, settings, regions: bool):
    """(flows onset→frame, region map of the onset crop or None, what was found on the way)."""
    frames, positions = _flow_positions(row)
    if len(positions) < 2:
        raise ConfigError(f"{frames.name}: a flow descriptor needs two frames or more, the clip has {len(positions)}")
    crops, face = aligned(frames, positions, settings)
    flows = np.stack([compute_flow(crops[0], crop, settings.flow_method, settings.flow_params) for crop in crops[1:]])
    if not regions:
        return flows, None, face_record(face)
    found = landmarks68(crops[0], f"{frames.name} (onset crop)", fallback="frame")
    info = {**face_record(face), "landmark_score": float(found.score)}
    return flows, region_map(found.landmarks, crops[0].shape), info


@register_builder
class LBPTOP(Builder):
    name = "lbp_top"
    kind = "vector"
    settings_used = ("face_backend", "no_face", "crop_size", "margin", "face_geometry")
    columns = ("frames", "frame_images")

    def check_shape(self, shape):
        super().check_shape(shape)
        _blocks(shape[0] / 3, bin_count(), "lbp_top (3 planes)")

    def sources(self, row, settings):
        frames, span = _span(row)
        return frames.sources(span)

    def build(self, row, shape, settings):
        frames, span = _span(row)
        crops, face = aligned(frames, span, settings)
        blocks = _blocks(shape[0] / 3, bin_count(), "lbp_top (3 planes)")
        return lbp_top(crops, blocks=blocks), face_record(face)


class _FlowDescriptor(Builder):
    kind = "vector"
    needs_regions = True
    settings_used = FLOW_SETTINGS
    columns = ("frames", "frame_images")

    def sources(self, row, settings):
        frames, positions = _flow_positions(row)
        return frames.sources(positions)

    def build(self, row, shape, settings):
        flows, regions, info = _clip_flows(row, settings, self.needs_regions)
        return self.describe(flows, regions, shape), info

    def describe(self, flows, regions, shape, strain=None):
        raise NotImplementedError


@register_builder
class HOOF(_FlowDescriptor):
    name = "hoof"
    needs_regions = False

    def check_shape(self, shape):
        super().check_shape(shape)
        _blocks(shape[0], HOOF_BINS, "hoof")

    def describe(self, flows, regions, shape, strain=None):
        return hoof(flows, blocks=_blocks(shape[0], HOOF_BINS, "hoof"), bins=HOOF_BINS)


@register_builder
class MDMO(_FlowDescriptor):
    name = "mdmo"

    def check_shape(self, shape):
        super().check_shape(shape)
        if shape != (2 * REGION_COUNT,):
            raise ConfigError(f"mdmo is ({2 * REGION_COUNT},): ρ then θ of {REGION_COUNT} regions, got {shape}")

    def describe(self, flows, regions, shape, strain=None):
        return mdmo(flows, regions)


@register_builder
class RegionFlow(_FlowDescriptor):
    name = "region_flow"
    version = 2  # 2: the strain of computed flows is preprocess.flow.optical_strain's (float32), not a copy of it

    def check_shape(self, shape):
        super().check_shape(shape)
        if shape != (REGION_FLOW_LENGTH,):
            raise ConfigError(
                f"region_flow is ({REGION_FLOW_LENGTH},): 12 statistics of {REGION_COUNT} regions, got {shape}"
            )

    def describe(self, flows, regions, shape, strain=None):
        # statistics of each onset→frame flow, averaged over the clip's course
        return np.mean([region_flow_statistics(flow, regions, strain=strain) for flow in flows], axis=0)


def shipped_flow(row) -> tuple[np.ndarray, np.ndarray]:
    """The composite's flow PNG as (flow (H, W, 2) with the median taken as zero, strain (H, W)), 0-255
    units (see the module doc)."""
    image = read_image(row["flow_path"], mode="RGB", what=f"clip {row['clip_id']}").astype(np.float64)
    flow = image[..., :2] - np.median(image[..., :2], axis=(0, 1))
    return flow, image[..., 2]


def shipped_landmarks(row, grid: tuple[int, int]) -> tuple[np.ndarray, dict]:
    """The 68 landmarks (x, y) of the shipped apex face, scaled onto a ``grid`` of the same crop."""
    apex = read_image(row["apex_path"], mode="L", what=f"clip {row['clip_id']}")[..., 0]
    found = landmarks68(apex, f"clip {row['clip_id']}: image {row['apex_path']}", fallback="frame")
    scale = np.array([grid[1] / apex.shape[1], grid[0] / apex.shape[0]])
    # pixel centres: point p of the apex image is at (p + 0.5) * scale - 0.5 on the grid
    return (found.landmarks + 0.5) * scale - 0.5, {"landmark_score": float(found.score)}


def shipped_regions(row, grid: tuple[int, int]) -> tuple[np.ndarray, dict]:
    """The region map of the shipped apex face's landmarks, scaled onto a ``grid`` of the same crop."""
    points, info = shipped_landmarks(row, grid)
    return region_map(points, grid), info


def _shipped(base: type[_FlowDescriptor]) -> type[_FlowDescriptor]:
    class Shipped(base):
        columns = ("flow_path",)
        ships_input = True
        settings_used = ()
        fixed_settings = FLOW_SETTINGS

        def applies(self, samples):
            if not self.needs_regions:
                return super().applies(samples)
            return super().applies(samples) and "apex_path" in samples.columns and samples["apex_path"].notna().all()

        def sources(self, row, settings):
            return [Path(row["flow_path"]), *([Path(row["apex_path"])] if self.needs_regions else [])]

        def build(self, row, shape, settings):
            flow, strain = shipped_flow(row)
            regions, info = shipped_regions(row, flow.shape[:2]) if self.needs_regions else (None, {})
            return self.describe(flow[None], regions, shape, strain=strain), info

    Shipped.__name__ = Shipped.__qualname__ = f"Shipped{base.__name__}"
    return register_builder(Shipped)


ShippedHOOF = _shipped(HOOF)
ShippedMDMO = _shipped(MDMO)
ShippedRegionFlow = _shipped(RegionFlow)
