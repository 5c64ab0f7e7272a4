"""A fitted model and the training-set statistics its inputs are standardised with: what a bundle loads.

Torch is imported only by a model that is a torch module: a scikit-learn bundle predicts without it (torch
takes a second and 200 MB to import, more than the whole prediction).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from microexp.errors import ConfigError
from microexp.inputs.registry import builder_kind
from microexp.inputs.spec import InputSpec


def resolve_device(name: str) -> Any:
    """A torch device: ``auto`` is CUDA when present."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def axes_of(ndim: int) -> tuple[int, ...]:
    """The axes a batch of one input is averaged over for per-channel statistics."""
    return {2: (0,), 4: (0, 2, 3), 5: (0, 1, 3, 4)}[ndim]


def _view(ndim: int) -> tuple[int, ...]:
    return {2: (1, -1), 4: (1, -1, 1, 1), 5: (1, 1, -1, 1, 1)}[ndim]


@dataclass
class TrainedModel:
    """A fitted model plus the training-set statistics its inputs are standardised with."""

    name: str
    num_classes: int
    inputs: Mapping[str, InputSpec]
    model: Any  # a microexp.models.layers.Classifier (backend torch) or a scikit-learn style classifier
    mean: Mapping[str, np.ndarray]  # per input, per channel (per feature for a vector), training rows only
    std: Mapping[str, np.ndarray]
    options: Mapping[str, Any]
    device: Any = "cpu"  # a torch device, for a torch model
    test_flip: bool = False  # average over each input and its mirror image (torch models)

    @property
    def kinds(self) -> dict[str, str]:
        return {name: builder_kind(spec) for name, spec in self.inputs.items()}

    def standardise(self, inputs: Mapping[str, Any]) -> list[Any]:
        """The inputs (arrays or tensors) in declared order, standardised, as tensors on the model's device."""
        import torch

        out = []
        for name in self.inputs:
            x = torch.as_tensor(inputs[name], dtype=torch.float32)
            shape = _view(x.dim())
            mean = torch.as_tensor(self.mean[name], dtype=torch.float32).view(shape).to(x.device)
            std = torch.as_tensor(self.std[name], dtype=torch.float32).view(shape).to(x.device)
            out.append(((x - mean) / std).to(self.device))
        return out

    def check_inputs(self, inputs: Mapping[str, np.ndarray]) -> int:
        """The batch size; raises when an input is missing or shaped otherwise than declared."""
        sizes = set()
        for name, spec in self.inputs.items():
            if name not in inputs:
                raise ConfigError(f"model {self.name!r} takes inputs {list(self.inputs)}; {name!r} is missing")
            shape = tuple(np.shape(inputs[name]))
            if shape[1:] != spec.shape:
                raise ConfigError(
                    f"model {self.name!r} takes {name} shaped (N, {', '.join(map(str, spec.shape))}), got {shape}"
                )
            sizes.add(shape[0])
        if len(sizes) != 1:
            raise ConfigError(f"model {self.name!r}: its inputs hold different numbers of samples {sorted(sizes)}")
        return sizes.pop()

    def predict_proba(self, inputs: Mapping[str, np.ndarray], batch_size: int = 256) -> np.ndarray:
        """(N, num_classes) class probabilities for raw inputs (0-255, as the builders make them)."""
        count = self.check_inputs(inputs)
        if not is_torch_module(self.model):
            proba = self.model.predict_proba(flat_features(inputs, self.inputs))
            full = np.zeros((count, self.num_classes))
            full[:, self.model.classes_] = proba  # a class missing from training keeps probability 0
            return full
        with _no_grad():
            return self._predict_torch(inputs, count, batch_size)

    def _predict_torch(self, inputs: Mapping[str, np.ndarray], count: int, batch_size: int) -> np.ndarray:
        import torch

        from microexp.inputs.transforms import mirror_where

        self.model.eval()
        outputs = []
        for start in range(0, count, batch_size):
            raw = {name: torch.as_tensor(inputs[name][start : start + batch_size]) for name in self.inputs}
            proba = torch.softmax(self.model(*self.standardise(raw)), dim=1)
            if self.test_flip:
                every = torch.ones(len(next(iter(raw.values()))), dtype=torch.bool)
                mirrored = self.standardise(mirror_where(raw, self.kinds, every))
                proba = (proba + torch.softmax(self.model(*mirrored), dim=1)) / 2
            outputs.append(proba.cpu())
        return torch.cat(outputs).double().numpy()


def is_torch_module(model: Any) -> bool:
    """Whether ``model`` is a torch module, asked without importing torch: if torch is not imported yet,
    nothing can be one."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(model, torch.nn.Module)


def _no_grad():
    import torch

    return torch.no_grad()


def flat_features(inputs: Mapping[str, np.ndarray], specs: Mapping[str, InputSpec]) -> np.ndarray:
    """What a scikit-learn model reads: the one input as it is, or every input flattened side by side."""
    if len(specs) == 1:
        return np.asarray(inputs[next(iter(specs))])
    return np.concatenate([np.asarray(inputs[name]).reshape(len(inputs[name]), -1) for name in specs], axis=1)


def channel_statistics(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=axes_of(x.ndim))
    std = x.std(axis=axes_of(x.ndim))
    return mean, np.where(std > 1e-6, std, 1.0)


