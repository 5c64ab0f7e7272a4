"""Milliseconds per clip for each preprocessing stage on one core, using the real CASME II frames.

    python benchmarks/preprocess.py [--repeats 10] [--data ../shared/data]

One clip = the onset→apex path: read the onset and apex frames (001.jpg, 010.jpg), detect the face and
its landmarks on the onset frame, align both frames, compute the flow, then strain and the 28 px
(u, v, strain) output. Each figure is the median over the repeats after one warm-up run.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import cv2
import torch

from microexp.preprocess.align import align_frames, alignment_matrix
from microexp.preprocess.faces import DlibDetector, Face, MTCNNDetector
from microexp.preprocess.flow import TVL1Params, compute_flow, flow_features
from microexp.preprocess.video import read_frames

SIZES = (28, 128, 224)
# name -> (method, parameters); "tvl1-opencv" is TV-L1 with OpenCV's own defaults, for comparison
METHODS = {
    "dis": ("dis", None),
    "farneback": ("farneback", None),
    "tvl1": ("tvl1", None),
    "tvl1-opencv": ("tvl1", TVL1Params(nscales=5, warps=5, epsilon=0.01, scale_step=0.8)),
}


def timed(function, repeats: int) -> tuple[float, object]:
    result = function()  # warm-up: first calls allocate and load
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    args = parser.parse_args()
    folder = args.data / "frames" / "casme2_sequence"
    if not (folder / "001.jpg").is_file():
        print(f"skipped: the real CASME II frames are not at {folder} (pass --data)")
        return
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    paths = [folder / "001.jpg", folder / "010.jpg"]
    repeats = args.repeats

    read_ms, frames = timed(lambda: read_frames(paths), repeats)
    dlib = DlibDetector()
    detect_ms, boxes = timed(lambda: dlib.boxes(frames[0]), repeats)
    box, score = boxes[0]
    landmarks_ms, landmarks = timed(lambda: dlib.landmarks(frames[0], box), repeats)
    face = Face(box, score, landmarks, "ibug68")
    mtcnn = MTCNNDetector()
    mtcnn_ms, _ = timed(lambda: mtcnn.detect(frames[0]), repeats)

    print(
        f"machine: {platform.processor() or platform.machine()}, Python {sys.version.split()[0]}, "
        f"OpenCV {cv2.__version__}, torch {torch.__version__}, 1 thread; median of {repeats} runs"
    )
    print(
        f"frames 280x340 grey; read 2 frames {read_ms:.1f} ms; dlib HOG detect {detect_ms:.1f} ms; "
        f"dlib 68 landmarks {landmarks_ms:.1f} ms; MTCNN detect + 5 points {mtcnn_ms:.1f} ms\n"
    )
    header = "| crop px | flow | read | detect | landmarks | align | flow | strain + 28 px | total |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for size in SIZES:
        align_ms, aligned = timed(lambda s=size: align_frames(frames, alignment_matrix(face, s), s), repeats)
        for name, (method, params) in METHODS.items():
            flow_ms, flow = timed(
                lambda a=aligned, m=method, p=params: compute_flow(a[0], a[1], m, p), repeats
            )
            strain_ms, _ = timed(lambda f=flow: flow_features(f, 28), repeats)
            total = read_ms + detect_ms + landmarks_ms + align_ms + flow_ms + strain_ms
            print(
                f"| {size} | {name} | {read_ms:.1f} | {detect_ms:.1f} | {landmarks_ms:.1f} "
                f"| {align_ms:.2f} | {flow_ms:.1f} | {strain_ms:.2f} | **{total:.1f}** |"
            )


if __name__ == "__main__":
    main()
