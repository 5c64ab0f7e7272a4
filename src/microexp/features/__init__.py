"""Hand-crafted descriptors of a clip, as pure functions of arrays: LBP-TOP on grey frames; HOOF, MDMO and
per-region flow statistics on optical flows; the 36 landmark regions they share. The input builders in
:mod:`microexp.inputs.descriptors` compute them from a clip and cache them."""

from microexp.features.flow_stats import orientation_bins, region_flow_statistics
from microexp.features.hoof import hoof
from microexp.features.lbp_top import bin_count, lbp_top, plane_codes, uniform_bins
from microexp.features.mdmo import main_directions, mdmo
from microexp.features.regions import REGION_COUNT, REGION_NAMES, face_mask, region_anchors, region_map

__all__ = [
    "REGION_COUNT",
    "REGION_NAMES",
    "bin_count",
    "face_mask",
    "hoof",
    "lbp_top",
    "main_directions",
    "mdmo",
    "orientation_bins",
    "plane_codes",
    "region_anchors",
    "region_flow_statistics",
    "region_map",
    "uniform_bins",
]
