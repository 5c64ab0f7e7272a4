"""What a model eats: named input specs, builders (clip row + settings -> cached array), the per-sample
dataset of dicts, and augmentations by input kind. The one place evaluate, train, explain and predict get
inputs from."""

from microexp.inputs.build import build_inputs, input_column, read_info
from microexp.inputs.dataset import ArrayDataset, SampleDataset, dataset_of, load_inputs
from microexp.inputs.registry import Builder, builder_names, register_builder
from microexp.inputs.spec import InputSettings, InputSpec, input_specs

__all__ = [
    "ArrayDataset",
    "Builder",
    "InputSettings",
    "InputSpec",
    "SampleDataset",
    "build_inputs",
    "dataset_of",
    "load_inputs",
    "builder_names",
    "input_column",
    "input_specs",
    "read_info",
    "register_builder",
]
