"""Confusion matrix picture of pooled LOSO predictions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def confusion_matrix(labels: Sequence[int], predictions: Sequence[int], num_classes: int) -> np.ndarray:
    """(true, predicted) counts."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels, dtype=int), np.asarray(predictions, dtype=int)), 1)
    return matrix


def plot_confusion(matrix: np.ndarray, classes: Sequence[str], title: str):
    """A matplotlib figure: each cell shows the count and the share of its true class (row), coloured by
    that share, so a rare class's errors are as visible as a common one's."""
    from matplotlib.figure import Figure  # not pyplot: no display or global state, safe in any process

    rows = matrix.sum(axis=1, keepdims=True)
    share = matrix / np.maximum(rows, 1)
    figure = Figure(figsize=(1.4 * len(classes) + 2, 1.2 * len(classes) + 1.6))
    axes = figure.add_subplot()
    image = axes.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for true in range(len(classes)):
        for predicted in range(len(classes)):
            value = share[true, predicted]
            axes.text(
                predicted, true, f"{matrix[true, predicted]}\n{value:.0%}", ha="center", va="center",
                color="white" if value > 0.5 else "black",
            )
    axes.set_xticks(range(len(classes)), classes)
    axes.set_yticks(range(len(classes)), classes)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    figure.colorbar(image, ax=axes, label="share of the true class")
    figure.tight_layout()
    return figure
