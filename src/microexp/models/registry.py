"""Model registry in the style of timm: ``@register_model`` on a factory, ``create_model`` by name.

Every entry declares the input it takes (:class:`InputSpec`), so the CLI, the evaluation runner and
the tests can build valid inputs for any model without knowing it. A factory takes explicit keyword
arguments only: a misspelt option raises instead of being swallowed.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from microexp.errors import ConfigError

MODALITIES = ("flow", "apex", "apex+flow", "frames")
BACKENDS = ("torch", "sklearn")


@dataclass(frozen=True)
class InputSpec:
    """What a model consumes.

    ``flow``: (B, C, H, W) optical flow of the onset→apex pair, channels u, v, strain (C=3) or u, v (C=2).
    ``apex``: (B, C, H, W) the apex face crop (C=1 grey or 3 RGB).
    ``apex+flow``: (B, C, H, W) apex crop channels followed by the flow channels, same size.
    ``frames``: (B, T, C, H, W) T frames of the clip, onset first.
    """

    modality: str
    channels: int
    size: int
    frames: int = 1

    def __post_init__(self) -> None:
        if self.modality not in MODALITIES:
            raise ConfigError(f"input modality {self.modality!r} is unknown; expected one of {MODALITIES}")

    def shape(self, batch_size: int) -> tuple[int, ...]:
        if self.modality == "frames":
            return (batch_size, self.frames, self.channels, self.size, self.size)
        return (batch_size, self.channels, self.size, self.size)

    def describe(self) -> str:
        text = f"{self.modality} {self.channels}x{self.size}x{self.size}"
        return f"{text} x{self.frames} frames" if self.modality == "frames" else text


@dataclass(frozen=True)
class ModelInfo:
    name: str
    factory: Callable[..., Any]
    input_spec: InputSpec
    backend: str
    description: str
    # Training defaults the paper (or our measurement) recommends; keys are TrainConfig fields,
    # checked by the training engine. Read-only so no caller mutates the registry by accident.
    training: Mapping[str, Any] = field(default_factory=dict)


_REGISTRY: dict[str, ModelInfo] = {}


def register_model(
    name: str,
    *,
    input_spec: InputSpec,
    backend: str = "torch",
    training: Mapping[str, Any] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``factory(num_classes=..., in_chans=..., <explicit options>)`` under ``name``."""
    if backend not in BACKENDS:
        raise ConfigError(f"model {name!r}: backend {backend!r} is unknown; expected one of {BACKENDS}")

    def decorator(factory: Callable[..., Any]) -> Callable[..., Any]:
        if name in _REGISTRY:
            raise ConfigError(f"model name {name!r} is already registered by {_REGISTRY[name].factory.__module__}")
        parameters = inspect.signature(factory).parameters
        if "num_classes" not in parameters or "in_chans" not in parameters:
            raise ConfigError(f"model {name!r}: the factory must take num_classes and in_chans keyword arguments")
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            raise ConfigError(f"model {name!r}: the factory must not take **kwargs (typos would be swallowed)")
        doc = inspect.getdoc(factory) or ""
        _REGISTRY[name] = ModelInfo(
            name=name,
            factory=factory,
            input_spec=input_spec,
            backend=backend,
            description=doc.splitlines()[0] if doc else "",
            training=MappingProxyType(dict(training or {})),
        )
        return factory

    return decorator


def _ensure_builtin_models_loaded() -> None:
    # Importing the model modules runs their @register_model decorators.
    import microexp.models.zoo  # noqa: F401


def list_models() -> list[str]:
    _ensure_builtin_models_loaded()
    return sorted(_REGISTRY)


def get_model_info(name: str) -> ModelInfo:
    _ensure_builtin_models_loaded()
    if name not in _REGISTRY:
        raise ConfigError(f"unknown model {name!r}; registered models: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def model_options(name: str) -> list[str]:
    """The options a model's factory accepts besides num_classes and in_chans."""
    parameters = inspect.signature(get_model_info(name).factory).parameters
    return [p for p in parameters if p not in ("num_classes", "in_chans")]


def create_model(name: str, *, num_classes: int, in_chans: int | None = None, **options: Any) -> Any:
    """Build a registered model. ``in_chans`` defaults to the model's declared input channels."""
    info = get_model_info(name)
    unknown = sorted(set(options) - set(model_options(name)))
    if unknown:
        raise ConfigError(f"model {name!r} has no option(s) {unknown}; valid options: {model_options(name)}")
    channels = info.input_spec.channels if in_chans is None else in_chans
    return info.factory(num_classes=num_classes, in_chans=channels, **options)
