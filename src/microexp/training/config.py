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
        valid = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(valid))
        if unknown:
            raise ConfigError(f"unknown training option(s) {unknown}; valid options: {valid}")
        return cls(**values)

    def replace(self, **changes: Any) -> TrainConfig:
        return TrainConfig.from_dict({**dataclasses.asdict(self), **changes})


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """Parse ``key=value`` strings (from the CLI) into typed values via YAML scalars."""
    import yaml

    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"expected key=value, got {pair!r}")
        value = yaml.safe_load(value)
        if isinstance(value, str):
            # YAML 1.1 reads "2e-3" (no dot) as text; a number is what anyone typing it means.
            try:
                value = float(value)
            except ValueError:
                pass
        parsed[key.strip()] = value
    return parsed
