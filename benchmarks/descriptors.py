"""The hand-crafted descriptors and the Li et al. pipeline: speed per clip, and LOSO / subject-fold scores on
the composite, the CK+ sequences and the synthetic database (with its amplitude-0 control).

    PYTHONPATH=src python benchmarks/descriptors.py --out runs/descriptors \
        [--only speed picture composite ckplus synthetic]

Every model runs with its registered, fixed settings (kernel and C are chosen inside each training fold by
cross-validation over training subjects; nothing is chosen on a test fold; the SVMs are deterministic, so
one seed is the result). Each run is an ordinary `microexp evaluate` run folder under --out, so an
interrupted benchmark resumes. Prints one table per database: UF1, UAR, accuracy, per part where the
database has parts, and the seconds each run took (inputs built on the first run of a database, then cached).
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np

from microexp.data.synthetic_render import SyntheticSettings
from microexp.data.synthetic_write import write_database
from microexp.evaluation.study import evaluate, make_run_spec
from microexp.features import hoof, lbp_top, mdmo, region_flow_statistics, region_map
from microexp.files import write_figure
from microexp.preprocess.faces import landmarks68
from microexp.preprocess.flow import compute_flow

SHARED = Path(__file__).resolve().parents[2] / "shared/data"
FRAME_MODELS = ("lbp_top_svm", "hoof_svm", "mdmo_svm", "li_regions")
COMPOSITE_RUNS = {  # name: (model, overrides)
    "li_regions": ("li_regions", ()),
    "li_regions, no revision": ("li_regions", ("model.revision=none",)),
    "mdmo_svm": ("mdmo_svm", ()),
    "hoof_svm": ("hoof_svm", ()),
    "linear (raw flow)": ("linear", ()),
}


def _clip(frames: int = 64, side: int = 128) -> np.ndarray:
    """A 64-frame 128x128 clip of a real face (the first CASME II frame) drifting by a pixel and back."""
    import cv2

    first = sorted((SHARED / "frames").rglob("*.jpg"))[0]
    face = cv2.resize(cv2.imread(str(first), cv2.IMREAD_GRAYSCALE), (side, side), interpolation=cv2.INTER_AREA)
    shifts = np.sin(np.linspace(0, np.pi, frames))
    return np.stack([cv2.warpAffine(face, np.float32([[1, 0, s], [0, 1, 0.5 * s]]), (side, side)) for s in shifts])


def _ms(function, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1000 * min(times)


def speed() -> None:
    clip = _clip()
    flows = np.stack([compute_flow(clip[0], clip[i]) for i in np.linspace(1, 63, 16).astype(int)])
    face = landmarks68(clip[0], "speed clip", fallback="frame")
    regions = region_map(face.landmarks, clip[0].shape)
    rows = [
        ("LBP-TOP, 64 frames, 5x5 blocks, radii 1", lambda: lbp_top(clip)),
        ("16 TV-L1 flows onset→frame (HOOF, MDMO, regions share them)", lambda: [
            compute_flow(clip[0], clip[i]) for i in np.linspace(1, 63, 16).astype(int)
        ]),
        ("68 landmarks (MTCNN box + dlib points)", lambda: landmarks68(clip[0], "speed clip", fallback="frame")),
        ("36-region map", lambda: region_map(face.landmarks, clip[0].shape)),
        ("HOOF of 16 flows, 4x4 blocks", lambda: hoof(flows)),
        ("MDMO of 16 flows", lambda: mdmo(flows, regions)),
        ("region statistics of 16 flows", lambda: [region_flow_statistics(f, regions) for f in flows]),
    ]
    print(f"{'step (one 64-frame 128x128 clip)':64} {'ms':>9}")
    for name, function in rows:
        print(f"{name:64} {_ms(function):9.1f}")


def picture(data: Path, out: Path) -> None:
    """The regions on one clip of each part of the composite: apex face and flow side by side."""
    from microexp.data.registry import open_dataset
    from microexp.viz.regions import plot_face_regions, shipped_clip_regions

    table = open_dataset("megc2019", data / "megc2019").load()
    samples = table.samples
    rows = [samples[samples["dataset"] == part].iloc[0] for part in ("casme2", "smic", "samm")]
    clips = [(f"{row['clip_id']} ({row['emotion']})", shipped_clip_regions(row)) for row in rows]
    out.mkdir(parents=True, exist_ok=True)
    figure = plot_face_regions(clips, "36 landmark regions on the composite's apex faces and 28×28 flows")
    write_figure(out / "regions.png", figure, dpi=110)
    print(f"\nwrote {out / 'regions.png'}")
    registration(table)


def registration(table) -> None:
    """Whether the landmarks of the apex faces land on the right places of the flows, over every clip: the
    regions that move most (mean flow magnitude relative to the clip's face mean, averaged over a class)
    should be the action units of the class (happiness: lip corners and cheeks, AU12 and AU6; surprise:
    brows and forehead, AU1 and AU2; the negative emotions: the brows, AU4). Misregistered grids would put
    them elsewhere."""
    from microexp.features import REGION_NAMES
    from microexp.inputs import build_inputs, input_column
    from microexp.models import get_model_info

    built = build_inputs(table, get_model_info("li_regions").inputs).samples
    statistics = np.stack([np.load(p) for p in built[input_column("region_flow")]]).reshape(len(built), 36, 12)
    relative = statistics[:, :, 2] / statistics[:, :, 2].mean(axis=1, keepdims=True)
    print("\nregions that move most, per part and class (mean magnitude / the face's mean, over the clips)")
    for part in ("casme2", "samm", "smic"):
        for emotion in ("negative", "positive", "surprise"):
            chosen = ((built["dataset"] == part) & (built["emotion"] == emotion)).to_numpy()
            mean = relative[chosen].mean(axis=0)
            top = ", ".join(f"{REGION_NAMES[i]} {mean[i]:.2f}" for i in np.argsort(-mean)[:4])
            print(f"{part:7} {emotion:9} {chosen.sum():3d} clips: {top}")


def _print_summary(name: str, summary: dict) -> None:
    parts = summary.get("parts") or {}
    per_part = " ".join(f"{p} {v['uf1']['mean']:.4f}/{v['uar']['mean']:.4f}" for p, v in sorted(parts.items()))
    print(
        f"{name:26} {summary['uf1']['mean']:.4f} {summary['uar']['mean']:.4f} {summary['accuracy']['mean']:.4f} "
        f"{summary['wall_seconds']:8.0f}  {per_part}"
    )


def run_table(title, dataset, data_dir, runs, out, workers) -> None:
    print(f"\n{title}\n{'run':26} {'UF1':>6} {'UAR':>6} {'acc':>6} {'seconds':>8}  per part (UF1/UAR)")
    for name, (model, overrides) in runs.items():
        spec = make_run_spec(dataset=dataset, data_dir=data_dir, model=model, seeds=(0,), overrides=overrides)
        folder = out / name.replace(" ", "_").replace(",", "").replace("(", "").replace(")", "")
        summary, _ = evaluate(spec, folder, workers=workers)  # the default input cache: shared with the CLI
        _print_summary(name, summary)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=SHARED)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--only", nargs="*", default=["speed", "picture", "composite", "ckplus", "synthetic"])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--amplitudes", type=float, nargs="*", default=[1.5, 0.0], help="synthetic databases")
    args = parser.parse_args()
    print(f"CPU: {platform.processor() or platform.machine()}; workers {args.workers}")
    frame_runs = {model: (model, ()) for model in FRAME_MODELS}
    if "speed" in args.only:
        speed()
    if "picture" in args.only:
        picture(args.data, args.out)
    if "composite" in args.only:
        run_table("MEGC2019 composite, LOSO (68 subjects)", "megc2019", args.data / "megc2019", COMPOSITE_RUNS,
                  args.out / "composite", args.workers)
    if "ckplus" in args.only:
        run_table("CK+ sequences, subject 10-fold (40 clips)", "ckplus", args.data / "macro/ckplus_sequences",
                  frame_runs, args.out / "ckplus", args.workers)
    if "synthetic" in args.only:
        for amplitude in args.amplitudes:
            database = args.out / f"synthetic_amplitude_{amplitude}"
            write_database(database, SyntheticSettings(seed=0, amplitude=amplitude))  # reused once written
            run_table(f"synthetic database, seed 0, amplitude {amplitude}, LOSO (8 subjects, 48 clips)",
                      "synthetic", database, frame_runs, args.out / f"synthetic_{amplitude}", args.workers)


if __name__ == "__main__":
    main()
