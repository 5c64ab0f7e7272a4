"""How closely the computed flow inputs match a reference motion, per face geometry and flow method.

    PYTHONPATH=src python benchmarks/flow_fidelity.py [--data ../shared/data] [--json out.json]

Each flow is made by the input builder itself (``build_inputs``, 28x28, the composite's min-max scaling),
with ``face_geometry`` detect (find the face, align on the eyes, crop) or as-cropped (resize the whole frame
to the square), and each flow method. It is compared with a reference motion expressed in the geometry the
field uses for that kind of picture, reduced the same way (u, v and strain at 28 px): the Pearson
correlation of u with u and of v with v, averaged (r(u,v); a channel the reference does not move, such as
u of a purely vertical field, is left out), and of the strain (r(strain)). Correlation
ignores the per-channel min-max scaling, so only the shape and place of the motion count. Sources:

- ``casme2-frames``: the ten real CASME II frames in ``frames/casme2_sequence`` are the database's 280x340
  face crops; the reference is ``1.flo``, the Middlebury flow from 001.jpg to 002.jpg, resized whole to the
  square as the MEGC2019 composite's flows were made from such crops. One clip.
- ``generated-crops``: synthetic identities rendered from the astronaut portrait scikit-image ships
  (``microexp.data.synthetic_render``), each moved by an AU-like displacement field of known shape (1.5 px
  at most, plus sensor noise), then cut to a tight face crop of CASME II's aspect, as the databases
  distribute them. The reference is the known field, cropped and resized whole like the frames.
- ``ckplus``: the real CK+ sequences (onset = neutral first frame, apex = peak): 640x490 photographs of
  head and shoulders, for which no flows are distributed; the field computes their motion on the face.
  The reference is TV-L1 with OpenCV's own defaults at the photographs' full resolution (on the face and
  around it), mapped into the face crop that detection and eye alignment give (the flow resampled at the
  crop's pixels and its vectors transformed by the alignment). It measures the resolution lost at 128 px
  and what a wrong geometry costs.

A clip whose face is not found by ``detect`` is counted in the last column and left out of that row.

A second table does the same for still faces: the 48x48 apex face the CLI builds from each CK+ peak frame
(``ckplus-stills``), as given or with its face detected (``still_faces``), against the CK+48 image the field
distributes for the same frame (``macro/ckplus48``: S055_004_00000010.png is cohn-kanade-images/S055/004/
S055_004_00000010.png cropped by its makers): the correlation of the pixels.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch

from microexp.data.ckplus import CKPlus, CKPlusStills
from microexp.data.schema import SampleTable, build_table
from microexp.data.synthetic_render import CLASSES, SyntheticSettings, expression_field, make_subjects
from microexp.errors import NoFaceError
from microexp.files import write_text
from microexp.inputs import InputSettings, InputSpec, build_inputs, input_column, load_inputs
from microexp.preprocess.align import whole_frame_matrix
from microexp.preprocess.flow import TVL1Params, compute_flow, flow_features, read_flo
from microexp.preprocess.pipeline import face_transform
from microexp.preprocess.video import read_frames

GEOMETRIES = ("as-cropped", "detect")
METHODS = ("tvl1", "farneback", "dis")
SIZE = 28
CROP = 128  # InputSettings().crop_size: the flow is computed at it
SPEC = {"flow": InputSpec("flow", (3, SIZE, SIZE))}
STILL = {"apex": InputSpec("apex", (1, 48, 48))}
OPENCV_TVL1 = TVL1Params(nscales=5, warps=5, epsilon=0.01, scale_step=0.8)
# (onset frame, apex frame, reference features at 28 px): one clip, with its reference in the field's geometry
Clip = tuple[np.ndarray, np.ndarray, np.ndarray]


def reference_features(flow: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """(28, 28, 3) u, v, strain of a flow field of the original frame, in the crop ``matrix`` makes: the
    field is resampled at the crop's pixels and its vectors transformed by the matrix's linear part."""
    channels = [
        cv2.warpAffine(flow[..., c], matrix, (CROP, CROP), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        for c in (0, 1)
    ]
    moved = np.stack(channels, axis=-1) @ matrix[:, :2].T
    return flow_features(moved.astype(np.float32), SIZE)


def casme2_clips(data: Path, limit: int) -> list[Clip]:
    folder = data / "frames" / "casme2_sequence"
    onset, apex = read_frames([folder / "001.jpg", folder / "002.jpg"])
    height, width = onset.shape
    return [(onset, apex, reference_features(read_flo(folder / "1.flo"), whole_frame_matrix(width, height, CROP)))]


def generated_clips(data: Path, limit: int) -> list[Clip]:
    settings = SyntheticSettings(subjects=max(1, -(-limit // len(CLASSES))), frame_size=320)
    clips = []
    for subject in make_subjects(settings):
        grey = cv2.cvtColor(subject.neutral, cv2.COLOR_RGB2GRAY).astype(np.float32)
        points = subject.landmarks
        # a tight face box of CASME II's crop aspect (280:340): brows to chin, cheek to cheek
        x0, x1 = points[:, 0].min(), points[:, 0].max()
        y1 = points[:, 1].max()
        height = (x1 - x0) * 340 / 280
        y0 = y1 - height
        box = np.round([x0, max(y0, 0), x1, y1]).astype(int)
        size = grey.shape[0]
        x, y = np.meshgrid(np.arange(size, dtype=np.float32), np.arange(size, dtype=np.float32))
        for number, expression in enumerate(CLASSES):
            rng = np.random.default_rng([subject.number, number])
            field = 1.5 * expression_field(subject, expression, rng)
            apex = cv2.remap(grey, x - field[..., 0], y - field[..., 1], cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
            noisy = [image + rng.normal(0, 2.0, image.shape) for image in (grey, apex)]
            onset_crop, apex_crop = (np.clip(image, 0, 255).round().astype(np.uint8) for image in noisy)
            window = (slice(box[1], box[3]), slice(box[0], box[2]))
            onset_crop, apex_crop, field = onset_crop[window], apex_crop[window], field[window]
            matrix = whole_frame_matrix(field.shape[1], field.shape[0], CROP)
            clips.append((onset_crop, apex_crop, reference_features(np.ascontiguousarray(field), matrix)))
    return clips[:limit]


def ckplus_clips(data: Path, limit: int) -> list[Clip]:
    table = CKPlus(data / "macro" / "ckplus_sequences").load()
    clips = []
    for frames in table.samples["frames"][:limit]:
        onset, apex = read_frames([frames[0], frames[-1]])
        face, matrix = face_transform(onset, frames[0], geometry="detect", size=CROP)
        # the reference at full resolution on the face and around it (the box grown by half its size on
        # every side, which holds the whole aligned crop), not on the background: a quarter of the cost
        x0, y0, x1, y1 = face.box
        grow = 0.5 * max(x1 - x0, y1 - y0)
        left, top = int(max(x0 - grow, 0)), int(max(y0 - grow, 0))
        right, bottom = int(min(x1 + grow, onset.shape[1])), int(min(y1 + grow, onset.shape[0]))
        window = (slice(top, bottom), slice(left, right))
        flow = compute_flow(onset[window], apex[window], "tvl1", OPENCV_TVL1)
        shifted = matrix.copy()
        shifted[:, 2] += matrix[:, :2] @ np.array([left, top])  # the window's pixels to the crop's
        clips.append((onset, apex, reference_features(flow, shifted)))
    return clips


SOURCES: dict[str, tuple[Callable[[Path, int], list[Clip]], str]] = {
    "casme2-frames": (casme2_clips, "1.flo, whole crop to the square"),
    "generated-crops": (generated_clips, "known field, whole crop to the square"),
    "ckplus": (ckplus_clips, "full-res TV-L1 (OpenCV defaults) in the aligned face crop"),
}


# still_faces and margin: as given; the face detected with the default margin (the micro-expression crop,
# eyes half the inner square apart); and with the margin that frames it as CK+48 does (eyes 3/8 of the side
# apart: 1 + 2 * margin = 0.5 / 0.375, margin 1/6, rounded to 0.17 as the command line gives it)
STILL_SETTINGS = (("as-given", 0.05), ("detect", 0.05), ("detect", 0.17))


def still_faces(data: Path, cache: Path) -> list[tuple[str, list[float]]]:
    """(still_faces and margin, per-image pixel correlation with CK+48) for the CK+ peak frames CK+48 holds."""
    distributed = {path.stem: path for path in (data / "macro" / "ckplus48").glob("*/*.png")}
    table = CKPlusStills(data / "macro" / "ckplus_sequences").load()
    table = table.subset(table.samples["clip"].isin(distributed).to_numpy())
    reference = read_frames([distributed[clip] for clip in table.samples["clip"]])
    results = []
    for still, margin in STILL_SETTINGS:
        settings = InputSettings(still_faces=still, margin=margin)
        faces = load_inputs(table, STILL, settings, cache_dir=cache)["apex"][:, 0]
        name = still if still == "as-given" else f"{still}, margin {margin:.3g}"
        results.append((name, [correlation(face, ref) for face, ref in zip(faces, reference, strict=True)]))
    return results


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def clip_table(clip: Clip, index: int) -> SampleTable:
    """A one-row table holding the clip's two frames in memory, as the input builders read clips."""
    onset, apex, _ = clip
    row = {
        "dataset": "fidelity",
        "subject": f"s{index}",
        "clip_id": f"fidelity/s{index}/c{index}",
        "clip": f"c{index}",
        "label": 0,
        "onset": 0,
        "apex": 1,
        "frame_images": np.stack([onset, apex]),
        "frame_numbers": (0, 1),
    }
    return build_table("fidelity", ("any",), [row])


def measure(clips: list[Clip], geometry: str, method: str, cache: Path) -> tuple[list[float], list[float], int]:
    """r(u,v) and r(strain) of every clip whose flow could be made, and the number without a face."""
    uv, strain, faceless = [], [], 0
    settings = InputSettings(face_geometry=geometry, flow_method=method)
    for index, clip in enumerate(clips):
        try:  # one clip at a time: a clip without a face is counted, not fatal
            built = build_inputs(clip_table(clip, index), SPEC, settings, cache_dir=cache)
        except NoFaceError:
            faceless += 1
            continue
        ours = np.load(built.samples[input_column("flow")].iloc[0]).transpose(1, 2, 0)
        reference = clip[2]
        # a reference channel without motion (u of a purely vertical field) has no correlation to speak of
        moving = [c for c in (0, 1) if reference[..., c].std() > 1e-3 * np.abs(reference[..., :2]).max()]
        uv.append(float(np.mean([correlation(ours[..., c], reference[..., c]) for c in moving])))
        strain.append(correlation(ours[..., 2], reference[..., 2]))
    return uv, strain, faceless


def summary(values: list[float]) -> str:
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=1):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--sources", nargs="*", default=list(SOURCES), choices=list(SOURCES))
    parser.add_argument("--max-clips", type=int, default=40, help="per source")
    parser.add_argument("--json", type=Path, help="also write the per-clip correlations here")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")  # the CK+ adapter's notes are not what this measures
    started = time.perf_counter()
    results = []
    print("| source | reference | geometry | method | clips | r(u,v) | r(strain) | no face found |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="fidelity-") as cache:
        for source in args.sources:
            make, reference = SOURCES[source]
            try:
                clips = make(args.data, args.max_clips)
            except (FileNotFoundError, OSError) as error:
                print(f"| {source} | skipped: {error} | | | | | | |")
                continue
            for geometry in GEOMETRIES:
                for method in METHODS:
                    uv, strain, faceless = measure(clips, geometry, method, Path(cache))
                    results.append(
                        {"source": source, "geometry": geometry, "method": method, "r_uv": uv, "r_strain": strain,
                         "no_face": faceless}
                    )  # fmt: skip
                    print(
                        f"| {source} | {reference} | {geometry} | {method} | {len(uv)} | {summary(uv)} | "
                        f"{summary(strain)} | {faceless} |",
                        flush=True,
                    )
        if "ckplus" in args.sources:
            print("\n| CK+ peak frames vs CK+48 | still_faces | images | r(pixels) |\n|---|---|---|---|")
            for still, values in still_faces(args.data, Path(cache)):
                results.append({"source": "ckplus48-crops", "still_faces": still, "r_pixels": values})
                print(f"| 48x48 apex face | {still} | {len(values)} | {summary(values)} |", flush=True)
    print(
        f"\n{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch thread, "
        f"OpenCV {cv2.__version__}; {time.perf_counter() - started:.0f} s"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        write_text(args.json, json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
