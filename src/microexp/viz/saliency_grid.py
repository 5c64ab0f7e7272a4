"""Which face regions drive each emotion: the per-class saliency figure of Deep-Emotion.

For every image, the gradient saliency (:func:`~microexp.viz.saliency.gradient_saliency`) of its own class;
then per class the mean face and the mean saliency over that class's images, drawn beside a few examples.
Averaging over a class shows the regions the model uses for that emotion rather than one image's noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from microexp.files import write_figure
from microexp.training.engine import TrainedModel
from microexp.viz.saliency import gradient_saliency


@dataclass(frozen=True)
class ClassSaliency:
    classes: tuple[str, ...]
    faces: np.ndarray  # (N, H, W) the images as given (first channel), 0-255
    maps: np.ndarray  # (N, H, W) each image's saliency for its own class, in [0, 1]
    labels: np.ndarray  # (N,)

    def mean_face(self, label: int) -> np.ndarray:
        return self.faces[self.labels == label].mean(axis=0)

    def mean_map(self, label: int) -> np.ndarray:
        return self.maps[self.labels == label].mean(axis=0)


def class_saliency(trained: TrainedModel, x: np.ndarray, labels: np.ndarray, classes: Sequence[str]) -> ClassSaliency:
    """Saliency of every image ``x`` (N, C, H, W, raw 0-255 as the builders make it) for its label; the
    model reads one image input."""
    (name,) = trained.inputs
    standardised = trained.standardise({name: x})[0]  # the model was trained on standardised input
    maps = np.stack(
        [
            gradient_saliency(trained.model, [image[None]], int(label))
            for image, label in zip(standardised, labels, strict=True)
        ]
    )
    return ClassSaliency(tuple(classes), np.asarray(x)[:, 0], maps, np.asarray(labels))


def draw_saliency_grid(
    result: ClassSaliency, path: str | Path, *, examples: int = 3, only: Sequence[str] | None = None
) -> Path:
    """One row per class: ``examples`` images with their saliency overlaid, then the class's mean face and
    mean saliency. ``only``: the classes to draw (default: all that have images). PNG written to ``path``."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers and in workers
    import matplotlib.pyplot as plt

    rows = [c for c in (only or result.classes) if (result.labels == result.classes.index(c)).any()]
    columns = examples + 2
    figure, axes = plt.subplots(len(rows), columns, figsize=(1.6 * columns, 1.7 * len(rows)), squeeze=False)
    for row, name in enumerate(rows):
        label = result.classes.index(name)
        picked = np.flatnonzero(result.labels == label)[:examples]
        for column in range(examples):
            axis = axes[row, column]
            if column < len(picked):
                axis.imshow(result.faces[picked[column]], cmap="gray")
                axis.imshow(result.maps[picked[column]], cmap="jet", alpha=0.45)
        axes[row, examples].imshow(result.mean_face(label), cmap="gray")
        axes[row, examples + 1].imshow(result.mean_map(label), cmap="jet")
        axes[row, 0].set_ylabel(f"{name}\n(n={int((result.labels == label).sum())})", fontsize=9)
        for axis in axes[row]:
            axis.set_xticks([])
            axis.set_yticks([])
    for column, title in enumerate([*(f"example {i + 1}" for i in range(examples)), "mean face", "mean saliency"]):
        axes[0, column].set_title(title, fontsize=9)
    figure.tight_layout()
    path = write_figure(path, figure, dpi=110)
    plt.close(figure)
    return path
