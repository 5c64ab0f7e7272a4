"""Model bundles: a trained model saved as plain tensors plus a JSON description, never a pickle.

A bundle is a folder::

    bundle.json         model name and options, class names, input spec, training-set mean/std,
                        preprocessing parameters, dataset, training configuration, format version
    weights.safetensors the torch state dict, or the arrays of a scikit-learn style model

Loading reads tensors with safetensors and numbers with json: nothing in a bundle can run code, so a
bundle from someone else is as safe to open as an image.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.numpy import load_file as load_numpy
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import load_file as load_torch
from safetensors.torch import save_file as save_torch

from microexp.errors import ConfigError, DataNotFoundError
from microexp.models.registry import InputSpec, create_model, get_model_info
from microexp.training.config import TrainConfig
from microexp.training.engine import TrainedModel, resolve_device

FORMAT_VERSION = 1
DESCRIPTION_FILE = "bundle.json"
WEIGHTS_FILE = "weights.safetensors"


@dataclass(frozen=True)
class Bundle:
    """A loaded bundle: ``predict_proba`` takes raw inputs (0–255, as ``load_inputs`` makes them)."""

    trained: TrainedModel
    classes: tuple[str, ...]
    dataset: str
    preprocessing: Mapping[str, Any]
    train_config: Mapping[str, Any]

    @property
    def input_spec(self) -> InputSpec:
        return self.trained.input_spec

    @property
    def model_name(self) -> str:
        return self.trained.name

    def predict_proba(self, x_raw: np.ndarray) -> np.ndarray:
        """Class probabilities (N, len(classes)) for raw inputs shaped ``input_spec.shape(N)``."""
        expected = self.input_spec.shape(len(x_raw))
        if tuple(x_raw.shape) != expected:
            raise ConfigError(
                f"bundle model {self.model_name!r} takes {self.input_spec.describe()} inputs shaped "
                f"{expected}, got {tuple(x_raw.shape)}; preprocess with {dict(self.preprocessing)}"
            )
        return self.trained.predict_proba(x_raw)


def save_bundle(
    path: str | Path,
    trained: TrainedModel,
    *,
    classes: tuple[str, ...] | list[str],
    dataset: str,
    preprocessing: Mapping[str, Any],
    train_config: TrainConfig | Mapping[str, Any],
) -> Path:
    """Write ``trained`` to the folder ``path`` (created; existing bundle files are replaced)."""
    if len(classes) != trained.num_classes:
        raise ConfigError(f"{len(classes)} class names given for a model with {trained.num_classes} classes")
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(trained.model, torch.nn.Module):
        state = {k: v.detach().cpu().contiguous() for k, v in trained.model.state_dict().items()}
        save_torch(state, str(folder / WEIGHTS_FILE))
    elif hasattr(trained.model, "state_arrays"):
        save_numpy(
            {k: np.ascontiguousarray(v) for k, v in trained.model.state_arrays().items()},
            str(folder / WEIGHTS_FILE),
        )
    else:
        raise ConfigError(
            f"model {trained.name!r} cannot be bundled: it has no state_arrays() to save without pickle"
        )
    config = dataclasses.asdict(train_config) if isinstance(train_config, TrainConfig) else dict(train_config)
    description = {
        "format_version": FORMAT_VERSION,
        "model": trained.name,
        "model_options": dict(trained.options),
        "num_classes": trained.num_classes,
        "classes": list(classes),
        "input_spec": dataclasses.asdict(trained.input_spec),
        "in_chans": int(len(trained.mean)),
        "mean": np.asarray(trained.mean, dtype=np.float64).tolist(),
        "std": np.asarray(trained.std, dtype=np.float64).tolist(),
        "dataset": dataset,
        "preprocessing": dict(preprocessing),
        "train_config": config,
    }
    (folder / DESCRIPTION_FILE).write_text(json.dumps(description, indent=2))
    return folder


def load_bundle(path: str | Path, *, device: str = "cpu") -> Bundle:
    """Read a bundle written by :func:`save_bundle`. Tensors come from safetensors, the rest from JSON."""
    folder = Path(path)
    for name in (DESCRIPTION_FILE, WEIGHTS_FILE):
        if not (folder / name).is_file():
            raise DataNotFoundError(
                f"{folder} is not a model bundle: {name} is missing (make one with `microexp train`)"
            )
    description = json.loads((folder / DESCRIPTION_FILE).read_text())
    if description.get("format_version") != FORMAT_VERSION:
        raise ConfigError(
            f"{folder}: bundle format {description.get('format_version')!r} is not supported; "
            f"expected {FORMAT_VERSION}"
        )
    name = description["model"]
    info = get_model_info(name)
    options = description["model_options"]
    num_classes = description["num_classes"]
    if info.backend == "sklearn":
        model = info.factory(num_classes=num_classes, in_chans=description["in_chans"], **options)
        model = type(model).from_state_arrays(load_numpy(str(folder / WEIGHTS_FILE)))
        target = torch.device("cpu")
    else:
        target = resolve_device(device)
        model = create_model(name, num_classes=num_classes, in_chans=description["in_chans"], **options)
        model.load_state_dict(load_torch(str(folder / WEIGHTS_FILE)))
        model.to(target).eval()
    trained = TrainedModel(
        name=name,
        num_classes=num_classes,
        input_spec=InputSpec(**description["input_spec"]),
        model=model,
        mean=np.asarray(description["mean"]),
        std=np.asarray(description["std"]),
        options=options,
        device=target,
        test_flip=info.backend == "torch" and bool(description["train_config"].get("test_flip", False)),
    )
    return Bundle(
        trained=trained,
        classes=tuple(description["classes"]),
        dataset=description["dataset"],
        preprocessing=description["preprocessing"],
        train_config=description["train_config"],
    )
