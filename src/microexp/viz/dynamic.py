"""Pictures of dynamic images: a clip's, from the command line, and what an FDP bundle rebuilds of it.

The images come from the inputs layer (the ``dynamic_image`` and ``frames`` builders), so a picture shows
exactly what training used. Mid-grey is no change; bright, a pixel that brightened over the clip; dark, one
that darkened (the frames scaled per clip, so brightness is relative within one picture only).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from microexp.data.schema import SampleTable
from microexp.errors import ConfigError
from microexp.inputs import InputSettings, InputSpec, build_inputs, input_column
from microexp.training.bundle import Bundle


def _built(table: SampleTable, specs: dict[str, InputSpec], settings: InputSettings, cache_dir) -> dict:
    built = build_inputs(table, specs, settings, cache_dir=cache_dir)
    return {name: np.load(built.samples[input_column(name)].iloc[0]) for name in specs}


def clip_dynamic_image(
    table: SampleTable, side: int, settings: InputSettings, cache_dir: str | Path | None = None
) -> np.ndarray:
    """The dynamic image of a one-row table's clip, every frame from onset to offset: (side, side), 0-255."""
    spec = {"dynamic_image": InputSpec("dynamic_image", (1, side, side))}
    return _built(table, spec, settings, cache_dir)["dynamic_image"][0]


def rebuilt_dynamic_image(
    bundle: Bundle, table: SampleTable, cache_dir: str | Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """What an FDP bundle sees and rebuilds of a clip: the dynamic image of its T input frames (the
    decoder's target) and the decoder's output, both (S, S) in 0-255."""
    from microexp.models.fdp import target_dynamic_image

    model = bundle.trained.model
    if getattr(model, "decoder", None) is None:
        raise ConfigError(
            f"the bundle's model {bundle.model_name!r} rebuilds no dynamic image; give a bundle of fdp, fdp_paper "
            "or fdp_mean_pool"
        )
    inputs = _built(table, dict(bundle.inputs), bundle.input_settings, cache_dir)
    (frames,) = bundle.trained.standardise({name: array[None] for name, array in inputs.items()})
    model.eval()
    with torch.no_grad():
        target = target_dynamic_image(frames)[0, 0].cpu().numpy()
        rebuilt = model.reconstruct(frames)[0, 0].cpu().numpy()
    return 255.0 * target, 255.0 * rebuilt


def plot_dynamic_images(rows: Sequence[tuple[str, Sequence[tuple[str, np.ndarray]]]], title: str):
    """A grid of grey pictures: one row per clip (its label, then (caption, image) panels)."""
    from matplotlib.figure import Figure

    columns = max(len(panels) for _, panels in rows)
    figure = Figure(figsize=(max(2.3 * columns + 0.6, 4.0), 2.4 * len(rows) + 0.6))
    for r, (label, panels) in enumerate(rows):
        for c, (caption, image) in enumerate(panels):
            axes = figure.add_subplot(len(rows), columns, r * columns + c + 1)
            axes.imshow(image, cmap="gray", vmin=0, vmax=255)
            axes.set_xticks([])
            axes.set_yticks([])
            axes.set_title(caption, fontsize=8)
            if c == 0:
                axes.set_ylabel(label, fontsize=9)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return figure
