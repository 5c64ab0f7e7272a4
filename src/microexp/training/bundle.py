"""Model bundles: a trained model saved as plain tensors plus a JSON description, never a pickle.

A bundle is a folder::

    bundle.json         model name and options, class names, the named inputs, training-set mean/std per
                        input, the input settings, dataset, training configuration, format version
    weights.safetensors the torch state dict, or the arrays of a scikit-learn style model
    manifest.json       size and sha256 of the two files above; written last, so its presence means the
                        bundle was saved whole

Loading reads tensors with safetensors and numbers with json: nothing in a bundle can run code, so a
bundle from someone else is as safe to open as an image. It also refuses, each with one line naming the
bundle, what would otherwise predict nonsense or exhaust the machine: files that differ from the manifest,
damaged JSON or weights, weights of another model or class count, options that would build a model larger
than any registered one, and weights that are not finite (a diverged training predicts "p = nan").

A bundle saved before manifests existed loads with a warning: every other check still applies, and its
files are as safe to open as before; refusing it would only make its owner retrain.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import load_file as load_numpy
from safetensors.numpy import save_file as save_numpy

from microexp.errors import ConfigError, DataError, DataNotFoundError, UnreadableFileError
from microexp.files import atomic_path, check_manifest, file_record, write_json
from microexp.inputs.spec import InputSettings, InputSpec
from microexp.models.registry import create_model, get_model_info
from microexp.training.config import TrainConfig
from microexp.training.trained import TrainedModel, is_torch_module, resolve_device

FORMAT_VERSION = 2  # 1: one input ("input_spec"); read and converted on load
DESCRIPTION_FILE = "bundle.json"
WEIGHTS_FILE = "weights.safetensors"
MANIFEST_FILE = "manifest.json"
# The largest registered model (fdp_paper) has 58 M parameters; options that would build more than this
# (a bundle edited by hand, or made by another program) are refused before any memory is spent on them.
MAX_PARAMETERS = 100_000_000
_DAMAGED = "copy the bundle again, or make a new one with `microexp train`"


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
    if is_torch_module(trained.model):
        from safetensors.torch import save_file as save_torch

        state = {k: v.detach().cpu().contiguous() for k, v in trained.model.state_dict().items()}
        _refuse_diverged(trained.name, state)
        (folder / MANIFEST_FILE).unlink(missing_ok=True)  # until the new files are whole
        with atomic_path(folder / WEIGHTS_FILE) as temporary:
            save_torch(state, str(temporary))
    elif hasattr(trained.model, "state_arrays"):
        arrays = {k: np.ascontiguousarray(v) for k, v in trained.model.state_arrays().items()}
        _refuse_diverged(trained.name, arrays)
        (folder / MANIFEST_FILE).unlink(missing_ok=True)
        with atomic_path(folder / WEIGHTS_FILE) as temporary:
            save_numpy(arrays, str(temporary))
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
    write_json(folder / DESCRIPTION_FILE, description)
    write_json(folder / MANIFEST_FILE, {"files": {name: file_record(folder / name) for name in BUNDLE_FILES}})
    return folder


BUNDLE_FILES = (DESCRIPTION_FILE, WEIGHTS_FILE)


def _refuse_diverged(name: str, arrays: Mapping[str, Any]) -> None:
    bad = _non_finite(arrays)
    if bad:
        raise DataError(
            f"the trained {name} cannot be bundled: its weights {bad} hold NaN or infinite values (the training "
            "diverged); train again with a lower train.lr, or check the inputs for NaN values"
        )


def _is_torch_tensor(array: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(array, torch.Tensor)


def _non_finite(arrays: Mapping[str, Any]) -> str:
    """The names of the floating point arrays holding NaN or infinity, as text ("" when none)."""
    bad = []
    for name, array in arrays.items():
        if _is_torch_tensor(array):
            import torch

            finite = not array.is_floating_point() or bool(torch.isfinite(array).all())
        else:
            finite = np.asarray(array).dtype.kind != "f" or bool(np.isfinite(array).all())
        if not finite:
            bad.append(name)
    return ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")


def load_bundle(path: str | Path, *, device: str = "cpu") -> Bundle:
    """Read a bundle written by :func:`save_bundle`, checked (see the module's notes) before any model is
    built. Tensors come from safetensors, the rest from JSON."""
    folder = Path(path)
    for name in BUNDLE_FILES:
        if not (folder / name).is_file():
            raise DataNotFoundError(
                f"{folder} is not a model bundle: {name} is missing (make one with `microexp train`)"
            )
    check_manifest(folder, BUNDLE_FILES, MANIFEST_FILE, _DAMAGED)
    description = _read_json(folder / DESCRIPTION_FILE)
    if isinstance(description, dict) and description.get("format_version") == 1:
        try:
            description = _from_format_1(description)
        except (KeyError, TypeError, AttributeError, IndexError) as error:
            raise ConfigError(f"{folder}: a bundle.json of format 1 lacking {error}; {_DAMAGED}") from None
    if not isinstance(description, dict) or description.get("format_version") != FORMAT_VERSION:
        found = description.get("format_version") if isinstance(description, dict) else type(description).__name__
        raise ConfigError(f"{folder}: bundle format {found!r} is not supported; expected {FORMAT_VERSION}")
    _check_fields(folder, description)
    name, options, num_classes = description["model"], description["model_options"], description["num_classes"]
    try:
        info = get_model_info(name)
        inputs = {key: InputSpec(spec["builder"], tuple(spec["shape"])) for key, spec in description["inputs"].items()}
    except (ConfigError, KeyError, TypeError) as error:
        raise ConfigError(f"{folder}: {error}; made by another program or version? {_DAMAGED}") from None
    if inputs != dict(info.inputs):
        raise ConfigError(
            f"{folder}: the bundle's model {name!r} took inputs {description['inputs']}, but this version of "
            f"microexp declares {info.describe_inputs()}; re-train it with `microexp train`"
        )
    if info.backend == "sklearn":
        arrays = _read_weights(folder, load_numpy)
        _refuse_non_finite(folder, arrays)
        try:
            model = type(_build(folder, name, num_classes, options)).from_state_arrays(arrays)
        except (KeyError, IndexError, ValueError) as error:
            raise ConfigError(f"{folder}: {WEIGHTS_FILE} lacks the arrays of {name} ({error}); {_DAMAGED}") from None
        target = "cpu"
    else:
        # torch only for a torch model: a scikit-learn bundle loads and predicts without it (1 s, 200 MB)
        import torch
        from safetensors.torch import load_file as load_torch

        with torch.device("meta"):  # shapes only, no memory: a model of absurd size is refused before it exists
            skeleton = _build(folder, name, num_classes, options)
        expected = {key: tuple(value.shape) for key, value in skeleton.state_dict().items()}
        size = sum(int(np.prod(shape)) for shape in expected.values())
        if size > MAX_PARAMETERS:
            raise ConfigError(
                f"{folder}: model {name!r} with options {options} would hold {size / 1e6:.0f} M parameters, more "
                f"than the {MAX_PARAMETERS / 1e6:.0f} M microexp builds; {_DAMAGED}"
            )
        _check_weight_shapes(folder, name, num_classes, options, expected)
        state = _read_weights(folder, load_torch)
        _refuse_non_finite(folder, state)
        target = resolve_device(device)
        model = _build(folder, name, num_classes, options)
        model.load_state_dict(state)
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


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UnreadableFileError(f"{path} is not valid JSON ({error}); {_DAMAGED}") from None


_FIELDS = {
    "model": str,
    "model_options": dict,
    "num_classes": int,
    "classes": list,
    "inputs": dict,
    "mean": dict,
    "std": dict,
    "dataset": str,
    "preprocessing": dict,
    "train_config": dict,
}


def _check_fields(folder: Path, description: Mapping[str, Any]) -> None:
    for key, kind in _FIELDS.items():
        value = description.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ConfigError(
                f"{folder / DESCRIPTION_FILE}: {key} should be a {kind.__name__}, got {value!r}; {_DAMAGED}"
            )
    classes, count = description["classes"], description["num_classes"]
    if count < 2 or len(classes) != count or not all(isinstance(c, str) for c in classes):
        raise ConfigError(
            f"{folder / DESCRIPTION_FILE}: {count} classes with the names {classes}; expected as many names as "
            f"classes, at least two; {_DAMAGED}"
        )


def _build(folder: Path, name: str, num_classes: int, options: Mapping[str, Any]) -> Any:
    try:
        return create_model(name, num_classes=num_classes, **options)
    except (ConfigError, TypeError, ValueError, RuntimeError) as error:
        raise ConfigError(
            f"{folder}: model {name!r} cannot be built with options {options}: {error}; {_DAMAGED}"
        ) from None


def _check_weight_shapes(
    folder: Path, name: str, num_classes: int, options: Mapping[str, Any], expected: Mapping[str, tuple[int, ...]]
) -> None:
    """The weights file holds exactly the tensors the described model has, read from its header alone."""
    path = folder / WEIGHTS_FILE
    try:
        with safe_open(str(path), framework="pt") as handle:
            found = {key: tuple(handle.get_slice(key).get_shape()) for key in handle.keys()}  # noqa: SIM118
    except SafetensorError as error:
        raise UnreadableFileError(f"{path} cannot be read ({error}); {_DAMAGED}") from None
    differences = [f"{key} is missing" for key in expected if key not in found]
    differences += [f"{key} is not one of its weights" for key in found if key not in expected]
    differences += [
        f"{key} is {found[key]}, expected {shape}" for key, shape in expected.items() if found.get(key, shape) != shape
    ]
    if differences:
        shown = "; ".join(differences[:3]) + (f" and {len(differences) - 3} more" if len(differences) > 3 else "")
        raise ConfigError(
            f"{path} does not hold the weights of {name!r} with {num_classes} classes and options {options} "
            f"({shown}); {_DAMAGED}"
        )


def _read_weights(folder: Path, load: Any) -> dict[str, Any]:
    try:
        return load(str(folder / WEIGHTS_FILE))
    except SafetensorError as error:
        raise UnreadableFileError(f"{folder / WEIGHTS_FILE} cannot be read ({error}); {_DAMAGED}") from None


def _refuse_non_finite(folder: Path, arrays: Mapping[str, Any]) -> None:
    bad = _non_finite(arrays)
    if bad:
        raise UnreadableFileError(
            f"{folder / WEIGHTS_FILE}: the weights {bad} hold NaN or infinite values, so every prediction would "
            f"be meaningless; {_DAMAGED}"
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
