"""A long video's spotting signal over time, with its intervals marked and labelled, and the stretches
without a face shaded, so a reader sees at once where the face was, what the spotter saw and what it kept."""

from __future__ import annotations

import numpy as np

from microexp.video.analyse import Analysis, mask_runs

NO_FACE, INTERVAL = "0.85", "tab:orange"


def plot_timeline(analysis: Analysis, title: str | None = None):
    """A matplotlib figure of ``analysis``: the per-frame score against time in seconds, the threshold, grey
    bands where there is no face, an orange band per interval with its label above it."""
    from matplotlib.figure import Figure  # not pyplot: no display or global state

    times = analysis.times.copy()
    known = np.isfinite(times)
    # an undecodable frame has no time stamp: place it between its neighbours so the bands stay whole
    times[~known] = np.interp(np.flatnonzero(~known), np.flatnonzero(known), times[known])
    figure = Figure(figsize=(11, 3.6))
    axes = figure.add_subplot()
    for number, (first, last) in enumerate(mask_runs(~analysis.has_face)):
        axes.axvspan(times[first], times[last], color=NO_FACE, lw=0, label="no face" if number == 0 else None)
    axes.plot(times, analysis.signal, color="tab:blue", lw=0.8, label="spotting score")
    top = float(np.nanmax(analysis.signal)) if np.isfinite(analysis.signal).any() else 1.0
    if analysis.threshold is not None and np.isfinite(analysis.threshold):
        axes.axhline(analysis.threshold, color="tab:red", lw=0.8, ls="--", label="threshold")
        top = max(top, analysis.threshold)
    for number, event in enumerate(analysis.events):
        axes.axvspan(event.onset_time, event.offset_time, color=INTERVAL, alpha=0.35, lw=0,
                     label="interval" if number == 0 else None)
        text = event.label or "unclassified"
        if event.label:
            text += f" {event.probabilities[event.label]:.2f}"
        axes.annotate(text, (event.apex_time, top * 1.04), ha="center", va="bottom", fontsize=7, rotation=90)
    axes.set_ylim(0, top * 1.6 if top > 0 else 1.0)  # room above the peaks for the labels
    axes.set_xlim(times[0], times[-1])
    axes.set_xlabel("time (s)")
    axes.set_ylabel("score")
    faces = int(analysis.has_face.sum())
    axes.set_title(
        title
        or f"{analysis.source}: {len(analysis.events)} interval(s); face on {faces} of {analysis.frames} frames",
        fontsize=9,
    )
    axes.legend(loc="upper right", fontsize=7, ncol=4)
    figure.tight_layout()
    return figure
