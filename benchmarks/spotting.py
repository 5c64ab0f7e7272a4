"""Micro-expression spotting on synthetic long videos: MEGC protocol figures, the distractors, the control.

    PYTHONPATH=src .venv/bin/python benchmarks/spotting.py [--work /tmp/spotting] [--seconds 30] [--model BUNDLE]

Three sets of generated long videos (:mod:`microexp.data.synthetic_long`), each tracked and spotted as
``analyse`` does (:mod:`microexp.video.spot_evaluation`):

- training videos (seed 1): the interval rule's threshold (``min_score``, ``mad_factor``) is chosen on them,
  by F1;
- test videos (seed 2026): scored once with that rule (precision, recall, F1 at IoU ≥ 0.5);
- the control: the test videos at amplitude 0 (the same distractors, no micro-expression), scored with the
  same rule: it should spot (almost) nothing.

Every spotted interval that is not a hit is attributed to the distractor it overlaps (blink, head turn,
macro expression, the face leaving or returning) or to none. With ``--model BUNDLE``, every hit of the test
videos is also classified exactly as ``analyse`` classifies a spotted interval
(:func:`microexp.video.spot_evaluation.classify_hits`) and its label compared with the true one (the
micro-expression's class under the synthetic long videos' 3-class map): the accuracy of the labels of the hits.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import os
import platform
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from microexp.data.synthetic_long import LongVideoSettings, SyntheticLongVideos, read_events, write_long_videos
from microexp.video.spot_evaluation import ClassifiedHit, SpottingEvaluation, classify_hits, evaluate_spotting, rescore
from microexp.video.spotting import IntervalRule

MIN_SCORES = (0.06, 0.08, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3)
MAD_FACTORS = (4.0, 6.0, 8.0)
DISTRACTORS = ("blink", "head_turn", "macro", "absence")


def spot_set(root: Path, settings: LongVideoSettings, console: Console) -> tuple[SpottingEvaluation, float, float]:
    """Write (or reuse) and spot one set; returns the evaluation and the wall seconds to write and to spot."""
    clock = time.perf_counter()
    write_long_videos(root, settings)
    written = time.perf_counter() - clock
    videos = SyntheticLongVideos(root).long_videos()
    clock = time.perf_counter()
    evaluation = evaluate_spotting(videos)
    spotted = time.perf_counter() - clock
    console.print(
        f"{root.name}: {len(videos)} videos written in {written:.0f} s, tracked and spotted in {spotted:.0f} s"
    )
    return evaluation, written, spotted


def attribute(evaluation: SpottingEvaluation, root: Path) -> dict[str, int]:
    """Spotted intervals that are not hits, by the event they overlap (the first in DISTRACTORS order)."""
    events = read_events(root)
    counts = dict.fromkeys((*DISTRACTORS, "micro (not a hit)", "none"), 0)
    for video, match in zip(evaluation.videos, evaluation.matches, strict=True):
        hits = {i for i, _, _ in match.pairs}
        recording = video.video.video_id.split("/")[-1]
        for i, interval in enumerate(video.intervals):
            if i in hits:
                continue
            overlapping = {
                e.kind for e in events[recording] if e.onset <= interval.offset and interval.onset <= e.offset
            }
            kind = next((k for k in DISTRACTORS if k in overlapping), None)
            counts[kind or ("micro (not a hit)" if "micro" in overlapping else "none")] += 1
    return counts


def label_table(hits: list[ClassifiedHit], classes: tuple[str, ...]) -> Table:
    """Per true class: the hits, how many the bundle classified, what it said, and how many it got right."""
    true_class = SyntheticLongVideos.label_maps["3class"].mapping
    table = Table(title="labels of the hits (test videos), classified as analyse classifies an interval")
    for column in ("true class", "hits", "classified", *(f"said {c}" for c in classes), "correct", "accuracy"):
        table.add_column(column, justify="left" if column == "true class" else "right")
    rows = [(c, [h for h in hits if true_class[h.true.emotion] == c]) for c in classes] + [("all", hits)]
    for name, group in rows:
        labelled = [h for h in group if h.event.label is not None]
        correct = sum(h.event.label == true_class[h.true.emotion] for h in labelled)
        said = [str(sum(h.event.label == c for h in labelled)) for c in classes]
        accuracy = f"{correct / len(labelled):.3f}" if labelled else "-"
        table.add_row(name, str(len(group)), str(len(labelled)), *said, str(correct), accuracy)
    return table


def plot_video(evaluation: SpottingEvaluation, root: Path, path: Path) -> None:
    """The first video's spotting signal with its true micro-expressions, distractors and spotted intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from microexp.files import write_figure

    video = evaluation.videos[0]
    fps = video.video.fps
    colours = {"micro": "tab:green", "blink": "tab:orange", "head_turn": "tab:purple", "macro": "tab:brown",
               "absence": "0.6"}
    figure, axis = plt.subplots(figsize=(14, 3.8))
    seconds = [i / fps for i in range(len(video.signal))]
    axis.plot(seconds, video.signal, lw=0.6, color="black", label="spotting score")
    axis.axhline(video.rule.threshold(video.signal), color="red", lw=0.8, ls="--", label="threshold")
    top = max(float(np.nanmax(video.signal)), 0.1)
    seen = set()
    for event in read_events(root)[video.video.video_id.split("/")[-1]]:
        label = None if event.kind in seen else event.kind.replace("_", " ")
        seen.add(event.kind)
        axis.axvspan(event.onset / fps, event.offset / fps, ymin=0.0, ymax=0.08, color=colours[event.kind], label=label)
    for n, interval in enumerate(video.intervals):
        axis.axvspan(interval.onset / fps, interval.offset / fps, ymin=0.9, ymax=1.0, color="tab:blue",
                     label="spotted" if n == 0 else None)
    axis.set_ylim(0, top * 1.15)
    axis.set_xlabel("seconds")
    axis.set_ylabel("score (px at 96 px)")
    axis.set_title(f"{video.video.video_id}: true events (bottom band), spotted intervals (top band)")
    axis.legend(loc="upper left", ncol=8, fontsize=8)
    write_figure(path, figure, dpi=110)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/tmp/microexp-spotting"))
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--train-videos", type=int, default=2)
    parser.add_argument("--test-videos", type=int, default=4)
    parser.add_argument("--plot", type=Path, help="Also draw the first test video's signal and events (PNG).")
    parser.add_argument("--model", type=Path, help="A trained bundle: also classify every hit of the test videos.")
    args = parser.parse_args()
    console = Console(width=130)
    base = LongVideoSettings(seconds=args.seconds)
    train_settings = dataclasses.replace(base, videos=args.train_videos, seed=1)
    test_settings = dataclasses.replace(base, videos=args.test_videos, seed=2026)
    control_settings = dataclasses.replace(test_settings, amplitude=0.0)

    train, *_ = spot_set(args.work / "train", train_settings, console)
    grid = [IntervalRule(min_score=m, mad_factor=f) for m, f in itertools.product(MIN_SCORES, MAD_FACTORS)]
    # the best training F1; ties go to the higher threshold (fewer false positives where nothing happens)
    rule = max(grid, key=lambda r: (round(rescore(train.videos, r).scores.f1, 6), r.min_score, r.mad_factor))
    train_scores = rescore(train.videos, rule).scores
    console.print(f"rule chosen on the training videos: min_score {rule.min_score}, mad_factor {rule.mad_factor}")

    test, _, test_seconds = spot_set(args.work / "test", test_settings, console)
    control, *_ = spot_set(args.work / "control", control_settings, console)
    test, control = rescore(test.videos, rule), rescore(control.videos, rule)

    table = Table(title=f"spotting on synthetic long videos ({args.seconds:.0f} s, {base.fps} fps), IoU ≥ 0.5")
    for column in ("set", "videos", "true MEs", "spotted", "TP", "FP", "FN", "precision", "recall", "F1"):
        table.add_column(column, justify="left" if column == "set" else "right")
    for name, scores in (("training (seed 1)", train_scores), ("test (seed 2026)", test.scores),
                         ("control, amplitude 0", control.scores)):
        table.add_row(name, str(scores.videos), str(scores.tp + scores.fn), str(scores.tp + scores.fp),
                      str(scores.tp), str(scores.fp), str(scores.fn), f"{scores.precision:.3f}",
                      f"{scores.recall:.3f}", f"{scores.f1:.3f}")
    console.print(table)

    events = Table(title="distractors in the test videos, and the spotted intervals that are not hits on them")
    for column in ("event", "in test videos", "FP on it (test)", "spotted on it (control)"):
        events.add_column(column, justify="left" if column == "event" else "right")
    present = read_events(args.work / "test")
    test_fp, control_fp = attribute(test, args.work / "test"), attribute(control, args.work / "control")
    for kind in (*DISTRACTORS, "micro (not a hit)", "none"):
        count = sum(e.kind == kind for video in present.values() for e in video) if kind in DISTRACTORS else "-"
        events.add_row(kind, str(count), str(test_fp[kind]), str(control_fp[kind]))
    console.print(events)
    console.print("flicker (2%, 3-15 Hz) and sensor noise (2 grey levels) run through every frame of every video")

    if args.model:
        from microexp.training.bundle import load_bundle

        bundle = load_bundle(args.model)
        clock = time.perf_counter()
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task("classifying the hits", total=test.scores.tp)
            hits = classify_hits(test, bundle, progress=lambda done, total: bar.update(task, completed=done))
        console.print(label_table(hits, tuple(bundle.classes)))
        unlabelled = [f"{h.video_id} {h.event.onset}–{h.event.offset}: {h.event.note}" for h in hits
                      if h.event.label is None]
        console.print(f"bundle {args.model}; {len(hits)} hits classified in {time.perf_counter() - clock:.0f} s"
                      + (f"; not classified: {'; '.join(unlabelled)}" if unlabelled else ""))

    if args.plot:
        plot_video(test, args.work / "test", args.plot)
        console.print(f"wrote {args.plot}")
    frames = sum(len(v.video.frames) for v in test.videos)
    spotter = sum(v.spotter_seconds for v in test.videos)
    console.print(
        f"test videos: {frames} frames ({frames / base.fps:.0f} s of video) tracked and spotted in "
        f"{test_seconds:.0f} s wall; the spotter's share {spotter:.1f} s ({1000 * spotter / frames:.2f} ms per frame)"
    )
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
