"""Model registry in the style of timm: ``@register_model`` on a factory, ``create_model`` by name.

Every entry declares the named inputs it takes (``inputs={"flow": (3, 28, 28)}``, see
:mod:`microexp.inputs.spec`), so the CLI, the evaluation runner and the tests can build valid inputs for
any model without knowing it. A torch model's ``forward`` takes them in the order declared. A factory
takes explicit keyword arguments only: a misspelt option raises instead of being swallowed.
"""

from __future__ import annotations

import inspect
import math
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from microexp.errors import ConfigError
from microexp.inputs.spec import InputSpec, input_specs

BACKENDS = ("torch", "sklearn")


def input_channels(spec: InputSpec) -> int:
    """Channels of one input: C of (C, H, W) and of (T, C, H, W); a vector (D,) counts as D."""
    return spec.shape[1] if len(spec.shape) == 4 else spec.shape[0]


@dataclass(frozen=True)
class ModelInfo:
    name: str
    factory: Callable[..., Any]
    inputs: Mapping[str, InputSpec]
    backend: str
    description: str
    # Training defaults the paper (or our measurement) recommends; keys are TrainConfig fields,
    # checked by the training engine. Read-only so no caller mutates the registry by accident.
    training: Mapping[str, Any] = field(default_factory=dict)

    @property
    def in_chans(self) -> int:
        """The channels of the inputs together (what ``in_chans`` defaults to)."""
        return sum(input_channels(spec) for spec in self.inputs.values())

    def describe_inputs(self) -> str:
        return ", ".join(
            spec.describe() if name == spec.builder else f"{name}: {spec.describe()}"
            for name, spec in self.inputs.items()
        )


_REGISTRY: dict[str, ModelInfo] = {}


def register_model(
    name: str,
    *,
    inputs: Mapping[str, Any],
    backend: str = "torch",
    training: Mapping[str, Any] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``factory(num_classes=..., in_chans=..., <explicit options>)`` under ``name``."""
    if backend not in BACKENDS:
        raise ConfigError(f"model {name!r}: backend {backend!r} is unknown; expected one of {BACKENDS}")
    specs = MappingProxyType(input_specs(inputs))

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
            inputs=specs,
            backend=backend,
            description=doc.splitlines()[0] if doc else "",
            training=MappingProxyType(dict(training or {})),
        )
        return factory

    return decorator


def _ensure_builtin_models_loaded() -> None:
    # Importing the model modules runs their @register_model decorators.
    from microexp.models.zoo import load_all

    load_all()


def list_models() -> list[str]:
    _ensure_builtin_models_loaded()
    return sorted(_REGISTRY)


def get_model_info(name: str) -> ModelInfo:
    """The registered model ``name``; a built-in one is imported on first use, its module alone."""
    from microexp.models.zoo import load_model_module

    if name not in _REGISTRY and not load_model_module(name):
        _ensure_builtin_models_loaded()  # for the list of names in the error
    if name not in _REGISTRY:
        raise ConfigError(f"unknown model {name!r}; registered models: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def model_options(name: str) -> list[str]:
    """The options a model's factory accepts besides num_classes and in_chans."""
    parameters = inspect.signature(get_model_info(name).factory).parameters
    return [p for p in parameters if p not in ("num_classes", "in_chans")]


# Options that are a probability of dropping something; every other number is a size (at least 1) or a
# weight (at least 0).
PROBABILITY_OPTIONS = ("dropout", "drop_path")


def check_model_options(name: str, options: Mapping[str, Any]) -> None:
    """Raise when ``options`` holds a key the model's factory does not take, or a value its annotation does
    not allow (``dropout=5``, ``width=abc``), before any work starts rather than in every worker."""
    unknown = sorted(set(options) - set(model_options(name)))
    if unknown:
        raise ConfigError(f"model {name!r} has no option(s) {unknown}; valid options: {model_options(name)}")
    hints = typing.get_type_hints(get_model_info(name).factory)
    for option, value in options.items():
        problem = _option_problem(option, value, hints.get(option))
        if problem:
            raise ConfigError(
                f"model {name!r}: option {option}={value!r} {problem}; give model.{option} such a value "
                f"(see `microexp models`)"
            )


def _option_problem(option: str, value: Any, annotation: Any) -> str | None:
    """Why ``value`` does not fit a factory's annotation (int, float, bool, str, tuple[float, ...]), or None."""
    if annotation is bool:
        return None if isinstance(value, bool) else "is not true or false"
    if annotation is str:
        return None if isinstance(value, str) else "is not text"
    if annotation is int:
        if not isinstance(value, int) or isinstance(value, bool):
            return "is not an integer"
        return None if value >= 1 else "must be at least 1"
    if annotation is float:
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
            return "is not a finite number"
        if value < 0:
            return "must be at least 0"
        return "must be below 1 (a probability)" if option in PROBABILITY_OPTIONS and value >= 1 else None
    if typing.get_origin(annotation) is tuple:
        if not isinstance(value, list | tuple) or not value:
            return "is not a non-empty list such as [0.001, 0.01]"
        element = typing.get_args(annotation)[0]
        problems = [_option_problem(option, item, element) for item in value]
        return next((f"holds a value that {p}" for p in problems if p), None)
    return None  # an annotation this check does not know: the factory checks the value itself


def create_model(name: str, *, num_classes: int, in_chans: int | None = None, **options: Any) -> Any:
    """Build a registered model. ``in_chans`` defaults to its declared inputs' channels together."""
    info = get_model_info(name)
    check_model_options(name, options)
    channels = info.in_chans if in_chans is None else in_chans
    return info.factory(num_classes=num_classes, in_chans=channels, **options)
