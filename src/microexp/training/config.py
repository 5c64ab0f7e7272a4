"""Training configuration: a frozen dataclass; unknown keys raise with the list of valid ones."""

from __future__ import annotations

import dataclasses
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
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer {self.optimizer!r} is unknown; expected one of {OPTIMIZERS}")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ConfigError(
                f"epochs, batch_size and lr must be positive, got {self.epochs}, {self.batch_size}, {self.lr}"
            )
        if not 0.0 <= self.augment_shift < 0.5 or not 0.0 <= self.augment_rotate <= 180.0:
            raise ConfigError(
                "augment_shift must be in [0, 0.5) (fraction of the side) and augment_rotate in [0, 180] "
                f"degrees, got {self.augment_shift} and {self.augment_rotate}"
            )

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrainConfig:
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise ConfigError(f"unknown training option(s) {unknown}; valid options: {list(fields)}")
        for name, value in values.items():
            _check_type(name, value, fields[name].type)
        return cls(**values)

    def replace(self, **changes: Any) -> TrainConfig:
        return TrainConfig.from_dict({**dataclasses.asdict(self), **changes})


def _check_type(name: str, value: Any, declared: str) -> None:
    """Raise unless ``value`` fits the field's declared type (``int``, ``float``, ``bool``, ``str``,
    ``int | None``): ``epochs=abc`` or ``class_weighting=maybe`` must not reach the training loop."""
    allowed = [part.strip() for part in str(declared).split("|")]
    if value is None and "None" in allowed:
        return
    fits = {
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, int | float) and not isinstance(value, bool),
        "str": isinstance(value, str),
    }
    if not any(fits.get(kind, False) for kind in allowed):
        raise ConfigError(f"training option {name}={value!r}: expected {' or '.join(allowed)}")


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
