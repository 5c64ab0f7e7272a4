"""One test runs every registered model on its declared input."""

import numpy as np
import pytest
import torch

from microexp.errors import ConfigError
from microexp.inputs import builder_names
from microexp.models import create_model, get_model_info, list_models, register_model
from microexp.models.layers import Classifier
from microexp.models.registry import check_model_options
from microexp.training.engine import flat_features

# GPU-sized models: the same test, in the slow tier (fdp_paper, 58 M parameters, takes most of a minute on CPU)
GPU_SIZED = {"fdp_paper"}


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in GPU_SIZED else n for n in list_models()]
)
def test_every_model_runs_on_its_declared_inputs(name):
    info = get_model_info(name)
    assert set(spec.builder for spec in info.inputs.values()) <= set(builder_names())
    torch.manual_seed(0)
    inputs = {key: torch.rand(*spec.batch_shape(6)) * 255 for key, spec in info.inputs.items()}
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    model = create_model(name, num_classes=3)
    if info.backend == "sklearn":
        x = flat_features({key: value.numpy() for key, value in inputs.items()}, info.inputs)
        model.fit(x, y.numpy(), groups=np.array(["a", "a", "b", "b", "c", "c"]))
        proba = model.predict_proba(x)
        assert proba.shape == (6, 3) and np.allclose(proba.sum(axis=1), 1)
        return
    assert isinstance(model, Classifier), "torch models derive from Classifier (forward and training_loss)"
    model.train()
    standardised = [(x - 127.5) / 64 for x in inputs.values()]
    logits = model(*standardised)
    assert logits.shape == (6, 3) and torch.isfinite(logits).all()
    # two tables (code 0 the evaluated one, 1 a training-only one), for models whose loss uses the domain
    domain = torch.tensor([0, 1, 0, 1, 0, 1])
    loss = model.training_loss(standardised, y, torch.nn.CrossEntropyLoss(), domain=domain)
    loss.backward()
    for parameter_name, parameter in model.named_parameters():
        assert parameter.grad is not None, f"{name}: {parameter_name} got no gradient"
        assert torch.isfinite(parameter.grad).all(), f"{name}: {parameter_name} has a non-finite gradient"


def test_duplicate_name_raises():
    with pytest.raises(ConfigError, match="already registered"):

        @register_model("ststnet", inputs={"flow": (3, 28, 28)})
        def again(*, num_classes: int, in_chans: int):
            return None


def test_unknown_model_and_option_are_named():
    with pytest.raises(ConfigError, match="unknown model 'nope'; registered models: .*ststnet"):
        create_model("nope", num_classes=3)
    with pytest.raises(ConfigError, match=r"has no option\(s\) \['dropuot'\]; valid options: \['dropout'\]"):
        create_model("ststnet", num_classes=3, dropuot=0.1)


def test_factories_may_not_swallow_kwargs():
    with pytest.raises(ConfigError, match=r"\*\*kwargs"):

        @register_model("swallower", inputs={"flow": (3, 28, 28)})
        def swallower(*, num_classes: int, in_chans: int, **options):
            return None


@pytest.mark.parametrize(
    ("model", "options", "expected"),
    [
        ("ststnet", {"dropout": 5}, r"dropout=5 must be below 1 \(a probability\)"),
        ("ststnet", {"dropout": "abc"}, r"dropout='abc' is not a finite number"),
        ("frames3d", {"width": 0}, r"width=0 must be at least 1"),
        ("frames3d", {"width": 2.5}, r"width=2.5 is not an integer"),
        ("linear", {"cs": [1e-3, "a"]}, r"cs=\[0.001, 'a'\] holds a value that is not a finite number"),
    ],
)
def test_a_model_option_is_checked_against_the_factory_annotation(model, options, expected):
    with pytest.raises(ConfigError, match=rf"model '{model}': option {expected}; give model\."):
        check_model_options(model, options)
