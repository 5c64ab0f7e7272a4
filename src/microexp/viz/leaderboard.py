"""The leaderboard as a picture: per entry, the honest UF1 beside what test-fold selection makes of the
same training and beside the published figure, so the inflation is seen at a glance."""

from __future__ import annotations

import numpy as np
import pandas as pd

# (column of the leaderboard frame, its std column, legend, colour, hatch); the hatched bars are biased
BARS = (
    ("uf1_mean", "uf1_std", "honest (fixed schedule)", "#2b6cb0", ""),
    (
        "best_epoch_all_folds_uf1_mean",
        "best_epoch_all_folds_uf1_std",
        "BIAS: best epoch of all folds, picked on test",
        "#ed8936",
        "//",
    ),
    (
        "best_epoch_per_subject_uf1_mean",
        "best_epoch_per_subject_uf1_std",
        "BIAS: best epoch per subject, picked on test",
        "#c53030",
        "xx",
    ),
)


def plot_leaderboard(frame: pd.DataFrame, title: str):
    """Horizontal bars per entry (mean over seeds, std as error bars) and a black diamond at the published
    UF1. Missing readings (no epochs, nothing published) are left out, not drawn as zero."""
    from matplotlib.figure import Figure  # not pyplot: no display or global state, safe in any process

    entries = list(frame["entry"])
    figure = Figure(figsize=(9, 2.2 + 0.9 * len(entries)))
    axes = figure.add_subplot()
    slots = len(BARS) + 1  # the bars, then the published figure on a line of its own so no label hides it
    height = 0.8 / slots
    positions = np.arange(len(entries))
    drawn = []
    for index, (column, std, label, colour, hatch) in enumerate(BARS):
        values = frame[column].to_numpy(dtype=float)
        errors = frame[std].fillna(0).to_numpy(dtype=float)
        shown = ~np.isnan(values)
        offset = positions[shown] - 0.4 + height * (index + 0.5)
        axes.barh(
            offset, values[shown], height, xerr=errors[shown], color=colour, hatch=hatch,
            edgecolor="white" if not hatch else "black", linewidth=0.4, label=label, capsize=2,
        )  # fmt: skip
        for y, value, error in zip(offset, values[shown], errors[shown], strict=True):
            axes.text(value + error + 0.005, y, f"{value:.3f}", va="center", fontsize=7)
        drawn.extend(values[shown] + errors[shown])
    published = frame["published_uf1"].to_numpy(dtype=float)
    shown = ~np.isnan(published)
    if shown.any():
        offset = positions[shown] - 0.4 + height * (len(BARS) + 0.5)
        axes.scatter(published[shown], offset, marker="D", color="black", s=30, zorder=3, label="published UF1")
        for y, value in zip(offset, published[shown], strict=True):
            axes.text(value + 0.008, y, f"{value:.3f}", va="center", fontsize=7)
        drawn.extend(published[shown])
    axes.set_yticks(positions, entries)
    axes.invert_yaxis()  # the experiment file's order, top to bottom
    low, high = (min(drawn), max(drawn)) if drawn else (0.0, 1.0)
    axes.set_xlim(max(0.0, low - 0.1), high + 0.06)  # room for the labels right of the bars
    axes.set_xlabel("UF1 on predictions pooled over all folds (mean over seeds; bars: std)")
    axes.set_title(title)
    axes.grid(axis="x", alpha=0.3)
    # below the axes: inside, it would hide the bars of some entry whatever corner it took
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, fontsize=8, frameon=False)
    figure.tight_layout()
    return figure
