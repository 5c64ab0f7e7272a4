"""The MEGC2019 composite's distributed flows: one 28×28 RGB PNG per clip (R = u, G = v, B = strain,
min-max scaled per image), read as distributed and resized to the declared side. Tables that ship such
files have a ``flow_path`` column; everywhere else ``flow`` is computed from frames (:mod:`.flow`)."""

from __future__ import annotations

from pathlib import Path

from microexp.data.images import read_image
from microexp.inputs.flow import ComputedFlow
from microexp.inputs.images import channels_first, resize_image
from microexp.inputs.registry import Builder, register_builder


@register_builder
class DistributedFlow(Builder):
    name = "flow"
    kind = "flow"
    columns = ("flow_path",)
    ships_input = True
    fixed_settings = ComputedFlow.settings_used

    def sources(self, row, settings):
        return [Path(row["flow_path"])]

    def build(self, row, shape, settings):
        image = read_image(row["flow_path"], mode="RGB", what=f"clip {row['clip_id']}")
        # u, v first: a 2-channel model takes u and v
        return channels_first(resize_image(image, shape[-1])[..., : shape[0]]), {}
