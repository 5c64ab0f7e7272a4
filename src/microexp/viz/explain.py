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
from microexp.training.engine import TrainedModel
from microexp.viz.saliency import gradient_saliency

logger = logging.getLogger(__name__)


def class_maps(trained: TrainedModel, x_raw: np.ndarray) -> np.ndarray:
    """Maps (K, H, W) in [0, 1] at the input's size for one raw input (C, H, W): the model's own
    per-class attention when it has ``class_attention``, else gradient saliency per class."""
    if not isinstance(trained.model, torch.nn.Module):
        raise ConfigError(
            f"model {trained.name!r} is not a torch model; it has no attention or gradients to draw"
        )
    model = trained.model.eval()
    x = trained._standardise(x_raw[None]).to(trained.device)
    size = x_raw.shape[-2:]
    if hasattr(model, "class_attention"):
        with torch.no_grad():
            maps = F.interpolate(model.class_attention(x), size=size, mode="bilinear", align_corners=False)[0]
        return maps.clamp(0, 1).cpu().numpy()
    return np.stack([gradient_saliency(model, x[0], k) for k in range(trained.num_classes)])


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
            axis.imshow(
                _resize_map(explanation.maps[k], picture.shape[:2]), cmap="jet", alpha=0.45, vmin=0, vmax=1
            )
            if row == 0:
                mark = " (true)" if k == explanation.label else ""
                axis.set_title(f"{class_name}{mark}\np = {explanation.proba[k]:.2f}", fontsize=9)
    for axis in axes.flat:
        axis.set_axis_off()
    figure.suptitle(explanation.title, fontsize=10)
    figure.tight_layout()
    return figure


def explain_run(run_dir: str | Path, clip_id: str, seed: int | None = None) -> Explanation:
    """Re-train the fold of run ``run_dir`` (a ``microexp evaluate`` folder) that held ``clip_id`` out,
    with the run's model, options, training configuration and ``seed`` (default: the run's first),
    and compute its per-class maps for that clip."""
    from microexp.data.protocols import LeaveOneSubjectOut
    from microexp.evaluation.runner import Task, train_task
    from microexp.models.registry import get_model_info
    from microexp.training.config import TrainConfig
    from microexp.training.inputs import load_inputs

    run = Path(run_dir)
    config_path = run / "config.json"
    if not config_path.is_file():
        raise DataNotFoundError(
            f"{run} is not an evaluation run: {config_path.name} is missing "
            "(make one with `microexp evaluate`)"
        )
    config = json.loads(config_path.read_text())
    seeds = config["seeds"]
    seed = seeds[0] if seed is None else seed
    if seed not in seeds:
        raise ConfigError(f"run {run} used seeds {seeds}; --seed {seed} is not one of them")
    from microexp.data.registry import load_table

    table = load_table(config["dataset"], config["data_dir"], config.get("protocol"))
    samples = table.samples
    rows = np.flatnonzero(samples["clip_id"].to_numpy() == clip_id)
    if len(rows) != 1:
        examples = ", ".join(samples["clip_id"].head(3))
        raise ConfigError(f"clip {clip_id!r} is not in {table.name} (clip ids look like {examples})")
    row = int(rows[0])
    fold = next(f for f in LeaveOneSubjectOut().split(table) if row in f.test)
    info = get_model_info(config["model"])
    task = Task(
        config["model"],
        seed,
        fold,
        TrainConfig.from_dict(config["train_config"]),
        config.get("model_options") or {},
    )
    x = load_inputs(table, info.input_spec)
    logger.info("re-training %s (fold %s, seed %d) to explain %s", config["model"], fold.name, seed, clip_id)
    # One thread, as in the evaluation runner's worker processes: the thread count changes the order
    # of floating point sums, and so the re-trained weights, slightly.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        trained = train_task(task, table, x)
    finally:
        torch.set_num_threads(threads)
    proba = trained.predict_proba(x[row : row + 1])[0]
    _compare_with_run(run, clip_id, seed, proba, table.classes)
    flow_channels = {"flow": info.input_spec.channels, "apex+flow": 3, "apex": 0}.get(
        info.input_spec.modality, 0
    )
    if flow_channels == 0:
        raise ConfigError(
            f"model {config['model']!r} reads {info.input_spec.describe()}; explain draws flow-input models"
        )
    face = _apex_face(samples.iloc[row])
    label = int(samples["label"].iloc[row])
    predicted = table.classes[int(np.argmax(proba))]
    title = (
        f"{clip_id}  true: {table.classes[label]}  predicted: {predicted}  "
        f"({config['model']}, seed {seed}, fold {fold.name})"
    )
    return Explanation(
        clip_id=clip_id,
        classes=tuple(table.classes),
        label=label,
        proba=proba,
        flow=flow_picture(x[row], flow_channels),
        face=face,
        maps=class_maps(trained, x[row]),
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
    import pandas as pd

    frame = pd.read_csv(predictions)
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
