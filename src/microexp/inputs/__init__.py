"""What a model eats: named input specs, builders (clip row + settings -> cached array), the per-sample
dataset of dicts, and augmentations by input kind. The one place evaluate, train, explain and predict get
inputs from.

The names below are imported on first use (PEP 562): ``predict`` reads one clip's specs and builders without
the sample-table machinery (pandas, 0.2–0.3 s to import) that a study's build and datasets need."""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "ArrayDataset": "dataset",
    "Builder": "registry",
    "InputSettings": "spec",
    "InputSpec": "spec",
    "SampleDataset": "dataset",
    "build_inputs": "build",
    "dataset_of": "dataset",
    "load_inputs": "dataset",
    "builder_names": "registry",
    "input_column": "build",
    "input_specs": "spec",
    "read_info": "build",
    "register_builder": "registry",
}

__all__ = list(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))
