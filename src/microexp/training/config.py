"""Training configuration: a frozen dataclass; unknown keys raise with the list of valid ones."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from microexp.errors import ConfigError

OPTIMIZERS = ("adam", "adamw", "sgd")


@dataclass(frozen=True)
class TrainConfig:
    """How one fold is trained. The default schedule is a fixed number of epochs: the test fold never
    chooses anything. ``early_stopping_patience`` switches to early stopping on a validation split
    made of training subjects only (``val_fraction`` of them)."""

    epochs: int = 100
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adam"
    # Cosine decay of the learning rate to zero over the fixed schedule.
    cosine_schedule: bool = False
    # Weight the loss by inverse class frequency of the training fold (the composite is imbalanced).
    class_weighting: bool = False
    # Mirror flows left-right (u negated) with probability 0.5: faces are roughly symmetric.
    augment_flip: bool = False
    # Random translation by up to this fraction of the side, and rotation by up to this many degrees (apex
    # images only: turning a flow image would need its vectors turned too). Borders repeat the edge pixels.
    augment_shift: float = 0.0
    augment_rotate: float = 0.0
    # Torch models: average the predictions for each test input and its mirror image (fixed in advance).
    test_flip: bool = False
    label_smoothing: float = 0.0
    early_stopping_patience: int | None = None
    val_fraction: float = 0.2
    device: str = "auto"

    def __post_init__(self) -> None:
        for spec in dataclasses.fields(self):
            object.__setattr__(self, spec.name, _checked(spec.name, getattr(self, spec.name), spec.type))
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"training option optimizer={self.optimizer!r} is unknown; expected one of {OPTIMIZERS}")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ConfigError(
                f"training options epochs, batch_size and lr must be positive, got {self.epochs}, {self.batch_size}, "
                f"{self.lr}; set them with train.epochs=100, train.batch_size=64, train.lr=1e-3"
            )
        if not 0.0 <= self.augment_shift < 0.5 or not 0.0 <= self.augment_rotate <= 180.0:
            raise ConfigError(
                "augment_shift must be in [0, 0.5) (fraction of the side) and augment_rotate in [0, 180] "
                f"degrees, got {self.augment_shift} and {self.augment_rotate}"
            )
        ranges = {
            "weight_decay": (self.weight_decay >= 0, "at least 0"),
            "label_smoothing": (0 <= self.label_smoothing < 1, "in [0, 1)"),
            "val_fraction": (0 < self.val_fraction < 1, "in (0, 1), a fraction of the training subjects"),
            "early_stopping_patience": (
                self.early_stopping_patience is None or self.early_stopping_patience >= 1,
                "an epoch count of at least 1, or null for the fixed schedule",
            ),
        }
        for name, (fits, expected) in ranges.items():
            if not fits:
                raise ConfigError(
                    f"training option {name}={getattr(self, name)!r}: expected {expected}; "
                    f"give train.{name} such a value"
                )
        _check_device(self.device)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrainConfig:
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise ConfigError(f"unknown training option(s) {unknown}; valid options: {list(fields)}")
        return cls(**values)

    def replace(self, **changes: Any) -> TrainConfig:
        return TrainConfig.from_dict({**dataclasses.asdict(self), **changes})


_BOOLEAN_NUMBERS = {0: False, 1: True}


def _checked(name: str, value: Any, declared: str) -> Any:
    """``value`` if it fits the field's declared type (``int``, ``float``, ``bool``, ``str``, ``int | None``),
    else raise: ``epochs=abc`` or ``class_weighting=maybe`` must not reach the training loop. A boolean may
    be written 1 or 0 (YAML already reads true/false/yes/no); a float must be finite (``lr=.nan`` compares
    false with every bound)."""
    allowed = [part.strip() for part in str(declared).split("|")]
    if value is None and "None" in allowed:
        return value
    if "bool" in allowed and not isinstance(value, bool) and type(value) is int and value in _BOOLEAN_NUMBERS:
        return _BOOLEAN_NUMBERS[value]
    fits = {
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value),
        "str": isinstance(value, str),
    }
    if not any(fits.get(kind, False) for kind in allowed):
        expected = " or ".join(
            "true/false" if kind == "bool" else "a finite float" if kind == "float" else kind for kind in allowed
        )
        raise ConfigError(f"training option {name}={value!r}: expected {expected}; set it with train.{name}=VALUE")
    return value


DEVICE_PATTERN = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


def _check_device(name: str) -> None:
    """Refuse a device this machine lacks now, before a run folder is written, instead of in every worker."""
    if not DEVICE_PATTERN.fullmatch(name):
        raise ConfigError(f"training option device={name!r}: expected auto, cpu, cuda, cuda:N or mps")
    if name in ("auto", "cpu"):
        return
    import torch

    if name == "mps":
        if not torch.backends.mps.is_available():
            raise ConfigError("training option device='mps': this machine has no MPS device; use device=auto or cpu")
        return
    index = int(name.partition(":")[2] or 0)
    if index >= torch.cuda.device_count():
        raise ConfigError(
            f"training option device={name!r}: this machine has {torch.cuda.device_count()} CUDA device(s) "
            "(or torch was built without CUDA); use device=auto or cpu"
        )


def parse_value(text: str) -> Any:
    """A command-line value read as YAML (``10``, ``1e-3``, ``true``, ``[0, 1]``, ``adam``)."""
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        raise ConfigError(f"cannot read the value {text!r}; write it as YAML (10, 0.5, true, adam, [0, 1])") from None
    if isinstance(value, str):
        # YAML 1.1 reads "2e-3" (no dot) as text; a number is what anyone typing it means.
        try:
            value = float(value)
        except ValueError:
            pass
    return value
