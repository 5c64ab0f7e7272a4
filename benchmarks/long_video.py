"""Wall time and peak memory of ``predict`` and ``analyse`` on generated 640×480 200 fps videos, side by side.

    python benchmarks/long_video.py --model runs/demo/bundle [--baseline-src ../main/src]

The videos are made at run time from a real face video (``../shared/data/videos/single_face.mp4`` by default,
640×360 at 30 fps): its frames are padded to 640×480 and played back and forth at 200 fps for as long as
asked, so the face keeps moving as it does in the source. Each command runs in its own process; its peak
resident memory (the process tree, sampled every 0.1 s as benchmarks/peak_memory.py does) and wall time are
printed as a table. ``--baseline-src`` runs ``predict`` from another checkout too (the code before a change),
in the same run, so the two figures share the machine's load.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
from peak_memory import tree_rss

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "videos" / "single_face.mp4"


def make_video(path: Path, source: Path, seconds: float, fps: int = 200, size: tuple[int, int] = (640, 480)) -> Path:
    """``seconds`` of ``source``'s frames at ``fps``, padded (grey border) to ``size``, encoded frame by frame."""
    import av

    with av.open(str(source)) as container:
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
        rate = float(container.streams.video[0].average_rate)
    width, height = size
    count = int(round(seconds * fps))
    cycle = 2 * (len(frames) - 1)  # forward then backward: no jump when the source ends
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "18", "preset": "veryfast"}
        for index in range(count):
            position = int(index / fps * rate) % cycle
            image = frames[position if position < len(frames) else cycle - position]
            canvas = np.full((height, width, 3), 110, np.uint8)
            top, left = (height - image.shape[0]) // 2, (width - image.shape[1]) // 2
            canvas[top : top + image.shape[0], left : left + image.shape[1]] = image[:height, :width]
            container.mux(stream.encode(av.VideoFrame.from_ndarray(canvas, format="rgb24")))
        container.mux(stream.encode())
    return path


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(command: list[str], src: Path) -> tuple[int, float, float, float]:
    """(exit code, wall seconds, CPU seconds, peak MiB of the process tree) of ``command`` run with ``src`` on
    PYTHONPATH. CPU seconds are what the command took from the machine whatever else ran: on a shared machine
    the wall time grows with the others' load, the CPU time hardly does."""
    env = {**os.environ, "PYTHONPATH": str(src), "HF_HUB_OFFLINE": "1"}
    cpu = _children_cpu()
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    while process.poll() is None:
        peak = max(peak, tree_rss(process.pid)[0])
        time.sleep(0.1)
    seconds = time.perf_counter() - start
    if process.returncode:
        print(process.stderr.read()[-2000:], file=sys.stderr)
    return process.returncode, seconds, _children_cpu() - cpu, peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="a bundle (from `microexp demo` or `train`)")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="the face video the clips are made of")
    parser.add_argument("--baseline-src", type=Path, help="another checkout's src/ to run predict from as well")
    parser.add_argument("--analyse-seconds", default="10,60", help="lengths of the analysed videos, in seconds")
    args = parser.parse_args()
    python = sys.executable
    rows = []
    with tempfile.TemporaryDirectory(prefix="microexp-long-video-") as folder:
        clip = make_video(Path(folder) / "clip_2s.mp4", args.source, 2.0)
        predict = [python, "-m", "microexp", "predict", str(clip), "--model", str(args.model), "--spot"]
        checkouts = [("this checkout", ROOT / "src")]
        if args.baseline_src is not None:
            checkouts.insert(0, ("baseline", args.baseline_src.resolve()))
        for name, src in checkouts:
            rows.append((f"predict --spot ({name})", 2.0, *measure(predict, src)))
        for seconds in (float(s) for s in args.analyse_seconds.split(",")):
            video = make_video(Path(folder) / f"video_{seconds:g}s.mp4", args.source, seconds)
            out = Path(folder) / f"analysis_{seconds:g}s"
            command = [python, "-m", "microexp", "analyse", str(video), "--model", str(args.model), "--out", str(out)]
            rows.append((f"analyse ({seconds:g} s video)", seconds, *measure(command, ROOT / "src")))
            video.unlink()
    print(f"videos: 640×480, 200 fps, from {args.source.name}; {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f} at the end")
    print("| command | video s | exit | wall s | CPU s | wall / video | CPU / video | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|")
    for name, seconds, code, wall, cpu, peak in rows:
        print(f"| {name} | {seconds:g} | {code} | {wall:.2f} | {cpu:.2f} | {wall / seconds:.2f} | {cpu / seconds:.2f} "
              f"| {peak:.0f} |")


if __name__ == "__main__":
    main()
