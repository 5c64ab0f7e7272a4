"""Model bundles: a trained model saved as plain tensors plus a JSON description, never a pickle.

A bundle is a folder::

    bundle.json         model name and options, class names, the named inputs, training-set mean/std per
                        input, the input settings, dataset, training configuration, format version
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
from microexp.inputs.spec import InputSettings, InputSpec
from microexp.models.registry import create_model, get_model_info
from microexp.training.config import TrainConfig
from microexp.training.engine import TrainedModel, resolve_device

FORMAT_VERSION = 2  # 1: one input ("input_spec"); read and converted on load
DESCRIPTION_FILE = "bundle.json"
WEIGHTS_FILE = "weights.safetensors"


@dataclass(frozen=True)
class Bundle:
    """A loaded bundle: ``predict_proba`` takes raw inputs by name (0-255, as the builders make them)."""

    trained: TrainedModel
    classes: tuple[str, ...]
    dataset: str
    preprocessing: Mapping[str, Any]
    train_config: Mapping[str, Any]

    @property
    def inputs(self) -> Mapping[str, InputSpec]:
        return self.trained.inputs

    @property
    def input_settings(self) -> InputSettings:
        """The settings the training inputs were built with: a new clip's inputs are built the same way."""
        return InputSettings.from_dict(self.preprocessing.get("inputs"))

    @property
    def model_name(self) -> str:
        return self.trained.name

    def predict_proba(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        """Class probabilities (N, len(classes)) for raw inputs shaped (N, *declared shape) by name."""
        return self.trained.predict_proba(inputs)


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
        raise ConfigError(f"model {trained.name!r} cannot be bundled: it has no state_arrays() to save without pickle")
    config = dataclasses.asdict(train_config) if isinstance(train_config, TrainConfig) else dict(train_config)
    description = {
        "format_version": FORMAT_VERSION,
        "model": trained.name,
        "model_options": dict(trained.options),
        "num_classes": trained.num_classes,
        "classes": list(classes),
        "inputs": {name: {"builder": spec.builder, "shape": list(spec.shape)} for name, spec in trained.inputs.items()},
        "mean": {name: np.asarray(trained.mean[name], dtype=np.float64).tolist() for name in trained.inputs},
        "std": {name: np.asarray(trained.std[name], dtype=np.float64).tolist() for name in trained.inputs},
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
    if description.get("format_version") == 1:
        description = _from_format_1(description)
    if description.get("format_version") != FORMAT_VERSION:
        raise ConfigError(
            f"{folder}: bundle format {description.get('format_version')!r} is not supported; expected {FORMAT_VERSION}"
        )
    name = description["model"]
    info = get_model_info(name)
    options = description["model_options"]
    num_classes = description["num_classes"]
    inputs = {key: InputSpec(value["builder"], tuple(value["shape"])) for key, value in description["inputs"].items()}
    if inputs != dict(info.inputs):
        raise ConfigError(
            f"{folder}: the bundle's model {name!r} took inputs {description['inputs']}, but this version of "
            f"microexp declares {info.describe_inputs()}; re-train it with `microexp train`"
        )
    if info.backend == "sklearn":
        model = create_model(name, num_classes=num_classes, **options)
        model = type(model).from_state_arrays(load_numpy(str(folder / WEIGHTS_FILE)))
        target = torch.device("cpu")
    else:
        target = resolve_device(device)
        model = create_model(name, num_classes=num_classes, **options)
        model.load_state_dict(load_torch(str(folder / WEIGHTS_FILE)))
        model.to(target).eval()
    trained = TrainedModel(
        name=name,
        num_classes=num_classes,
        inputs=inputs,
        model=model,
        mean={key: np.asarray(value) for key, value in description["mean"].items()},
        std={key: np.asarray(value) for key, value in description["std"].items()},
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


def _from_format_1(description: dict[str, Any]) -> dict[str, Any]:
    """A bundle of format 1 (one input of a modality, flow preprocessing keys) in format 2's terms."""
    spec = description["input_spec"]
    size, channels = spec["size"], spec["channels"]
    if spec["modality"] == "apex+flow":
        inputs = {"apex": [channels - 3, size, size], "flow": [3, size, size]}
    elif spec["modality"] == "frames":
        inputs = {"frames": [spec["frames"], channels, size, size]}
    else:
        inputs = {spec["modality"]: [channels, size, size]}
    mean, std, start = {}, {}, 0
    for name, shape in inputs.items():
        count = shape[1] if len(shape) == 4 else shape[0]
        mean[name], std[name] = description["mean"][start : start + count], description["std"][start : start + count]
        start += count
    old = description.get("preprocessing", {})
    settings = {
        "face_backend": old.get("face_backend"),
        "crop_size": old.get("crop_size"),
        "margin": old.get("margin"),
        "flow_method": old.get("flow_method"),
        "flow_params": old.get("flow_params"),
        "flow_size": old.get("size"),
        "norm": old.get("norm"),
    }
    preprocessing = {"inputs": {key: value for key, value in settings.items() if value is not None}}
    return {
        **description,
        "format_version": 2,
        "inputs": {name: {"builder": name, "shape": shape} for name, shape in inputs.items()},
        "mean": mean,
        "std": std,
        "preprocessing": preprocessing,
    }
