"""Per-class maps of what a trained model looks at, drawn over the flow it read and the apex face.

Models that learn attention per class (FR's ``class_attention``) show their own attention; any other
torch model shows gradient saliency. ``explain_run`` re-creates the fold of an evaluation run that held
the clip out (training is deterministic: same task, same model) so the picture is of the model that
made the run's prediction for that clip, never of one that saw it in training.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure  # not pyplot: files only, no display backend or global state
from PIL import Image

from microexp.errors import ConfigError, DataNotFoundError
from microexp.inputs.registry import builder_kind
from microexp.models.registry import get_model_info
from microexp.threads import one_thread
from microexp.training.engine import TrainedModel
from microexp.viz.saliency import gradient_saliency

logger = logging.getLogger(__name__)


def class_maps(trained: TrainedModel, inputs: dict[str, np.ndarray], image: str) -> np.ndarray:
    """Maps (K, H, W) in [0, 1] at the size of input ``image`` for one sample's raw inputs (each without a
    batch axis): the model's own per-class attention when it has ``class_attention``, else gradient
    saliency per class of that input."""
    if not isinstance(trained.model, torch.nn.Module):
        raise ConfigError(f"model {trained.name!r} is not a torch model; it has no attention or gradients to draw")
    model = trained.model.eval()
    standardised = trained.standardise({name: x[None] for name, x in inputs.items()})
    size = inputs[image].shape[-2:]
    if hasattr(model, "class_attention"):
        with torch.no_grad():
            maps = F.interpolate(model.class_attention(*standardised), size=size, mode="bilinear", align_corners=False)[
                0
            ]
        return maps.clamp(0, 1).cpu().numpy()
    position = list(trained.inputs).index(image)
    return np.stack([gradient_saliency(model, standardised, k, position) for k in range(trained.num_classes)])


@dataclass(frozen=True)
class Explanation:
    clip_id: str
    classes: tuple[str, ...]
    label: int
    proba: np.ndarray  # (K,) the re-trained fold model's probabilities for the clip
    flow: np.ndarray  # (H, W, 3) uint8 picture of the input flow (R = u, G = v, B = strain)
    face: np.ndarray | None  # (H', W', 3) uint8 apex face, when the table has one
    maps: np.ndarray  # (K, H, W) in [0, 1]
    title: str


def flow_picture(x_raw: np.ndarray, flow_channels: int) -> np.ndarray:
    """The flow part of a raw input as an RGB picture (a missing strain channel is drawn black)."""
    flow = x_raw[-flow_channels:].transpose(1, 2, 0)
    if flow.shape[-1] < 3:
        flow = np.concatenate([flow, np.zeros((*flow.shape[:2], 3 - flow.shape[-1]), flow.dtype)], axis=-1)
    return np.clip(flow[..., :3], 0, 255).astype(np.uint8)


def _resize_map(values: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    tensor = torch.as_tensor(values, dtype=torch.float32)[None, None]
    return F.interpolate(tensor, size=shape, mode="bilinear", align_corners=False)[0, 0].numpy()


def draw_explanation(explanation: Explanation) -> Figure:
    """Row 1: the flow, then each class's map over it; row 2 (when there is a face): the same over the apex
    face. Column titles give each class's probability and mark the true class."""
    rows = [("flow (u, v, strain)", explanation.flow)]
    if explanation.face is not None:
        rows.append(("apex face", explanation.face))
    columns = len(explanation.classes) + 1
    figure = Figure(figsize=(2.4 * columns, 2.6 * len(rows) + 0.4))
    axes = figure.subplots(len(rows), columns, squeeze=False)
    for row, (name, picture) in enumerate(rows):
        axes[row, 0].imshow(picture, interpolation="nearest")
        axes[row, 0].set_title(name, fontsize=9)
        for k, class_name in enumerate(explanation.classes):
            axis = axes[row, k + 1]
            axis.imshow(picture, interpolation="nearest")
            axis.imshow(_resize_map(explanation.maps[k], picture.shape[:2]), cmap="jet", alpha=0.45, vmin=0, vmax=1)
            if row == 0:
                mark = " (true)" if k == explanation.label else ""
                axis.set_title(f"{class_name}{mark}\np = {explanation.proba[k]:.2f}", fontsize=9)
    for axis in axes.flat:
        axis.set_axis_off()
    figure.suptitle(explanation.title, fontsize=10)
    figure.tight_layout()
    return figure


def explain_run(
    run_dir: str | Path, clip_id: str, seed: int | None = None, cache_dir: str | Path | None = None
) -> Explanation:
    """Re-train the fold of run ``run_dir`` (a ``microexp evaluate`` folder) that held ``clip_id`` out,
    with the run's spec (tables, model, options, training, input settings, splitter) and ``seed``
    (default: the run's first), and compute its per-class maps for that clip."""
    from microexp.evaluation.runner import Task, train_task
    from microexp.evaluation.study import RunSpec, load_study_table
    from microexp.inputs.build import build_inputs
    from microexp.inputs.dataset import SampleDataset

    run = Path(run_dir)
    config_path = run / "config.json"
    if not config_path.is_file():
        raise DataNotFoundError(
            f"{run} is not an evaluation run: {config_path.name} is missing (make one with `microexp evaluate`)"
        )
    spec = RunSpec.from_record(json.loads(config_path.read_text()))
    seed = spec.seeds[0] if seed is None else seed
    if seed not in spec.seeds:
        raise ConfigError(f"run {run} used seeds {list(spec.seeds)}; --seed {seed} is not one of them")
    table = load_study_table(spec)
    samples = table.samples
    rows = np.flatnonzero(samples["clip_id"].to_numpy() == clip_id)
    if len(rows) != 1:
        examples = ", ".join(samples["clip_id"].head(3))
        raise ConfigError(f"clip {clip_id!r} is not in {table.name} (clip ids look like {examples})")
    row = int(rows[0])
    fold = next((f for f in spec.splitter_instance().split(table) if row in f.test), None)
    if fold is None:
        raise ConfigError(f"clip {clip_id!r} is in no test fold of run {run} (a training-only table?)")
    info = get_model_info(spec.model)
    if info.backend != "torch":
        raise ConfigError(f"model {spec.model!r} is not a torch model; it has no attention or gradients to draw")
    images = [name for name, spec_ in info.inputs.items() if len(spec_.shape) == 3]
    flows = [name for name in images if builder_kind(info.inputs[name]) == "flow"]
    if not flows:
        raise ConfigError(f"model {spec.model!r} reads {info.describe_inputs()}; explain draws flow-input models")
    task = Task(
        spec.model, seed, fold, spec.train, spec.model_options, tuple(spec.stage_configs()) if spec.stages else ()
    )
    built = build_inputs(table, info.inputs, spec.inputs, cache_dir=cache_dir)
    logger.info("re-training %s (fold %s, seed %d) to explain %s", spec.model, fold.name, seed, clip_id)
    with one_thread():  # as the run's tasks were trained, or the weights differ in their last bits
        trained = train_task(task, built)
    sample = SampleDataset(built, info.inputs, [row])[0]["inputs"]
    proba = trained.predict_proba({name: x[None] for name, x in sample.items()})[0]
    _compare_with_run(run, clip_id, seed, proba, table.classes)
    flow = flows[0]
    face = _apex_face(samples.iloc[row])
    if face is None and "apex" in sample:
        face = np.repeat(np.clip(sample["apex"][0], 0, 255).astype(np.uint8)[..., None], 3, axis=2)
    label = int(samples["label"].iloc[row])
    predicted = table.classes[int(np.argmax(proba))]
    title = (
        f"{clip_id}  true: {table.classes[label]}  predicted: {predicted}  "
        f"({spec.model}, seed {seed}, fold {fold.name})"
    )
    return Explanation(
        clip_id=clip_id,
        classes=tuple(table.classes),
        label=label,
        proba=proba,
        flow=flow_picture(sample[flow], sample[flow].shape[0]),
        face=face,
        maps=class_maps(trained, sample, flow),
        title=title,
    )


def _apex_face(sample) -> np.ndarray | None:
    path = sample.get("apex_path")
    if not isinstance(path, str) or not path or not Path(path).is_file():
        return None
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _compare_with_run(run: Path, clip_id: str, seed: int, proba: np.ndarray, classes) -> None:
    # The re-trained fold should reproduce the run's prediction; say so when it does not (a different
    # machine or thread count can move floating point sums).
    predictions = run / "predictions.csv"
    if not predictions.is_file():
        return
    from microexp.evaluation.report import read_predictions

    frame = read_predictions(predictions)
    match = frame[(frame["clip_id"] == clip_id) & (frame["seed"] == seed)]
    if match.empty:
        return
    recorded = match[[f"p_{name}" for name in classes]].to_numpy()[0]
    if np.abs(recorded - proba).max() > 1e-3:
        logger.warning(
            "re-trained fold gives %s for %s; the run recorded %s",
            np.round(proba, 3),
            clip_id,
            np.round(recorded, 3),
        )
