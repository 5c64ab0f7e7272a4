"""One test runs every registered model on its declared input."""

import numpy as np
import pytest
import torch

from microexp.errors import ConfigError
from microexp.models import InputSpec, create_model, get_model_info, list_models, register_model


@pytest.mark.parametrize("name", list_models())
def test_every_model_runs_on_its_declared_input(name):
    info = get_model_info(name)
    torch.manual_seed(0)
    x = torch.rand(*info.input_spec.shape(6)) * 255
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    model = create_model(name, num_classes=3)
    if info.backend == "sklearn":
        model.fit(x.numpy(), y.numpy(), groups=np.array(["a", "a", "b", "b", "c", "c"]))
        proba = model.predict_proba(x.numpy())
        assert proba.shape == (6, 3) and np.allclose(proba.sum(axis=1), 1)
        return
    model.train()
    logits = model((x - 127.5) / 64)
    assert logits.shape == (6, 3) and torch.isfinite(logits).all()
    loss = (
        model.training_loss((x - 127.5) / 64, y, torch.nn.CrossEntropyLoss())
        if hasattr(model, "training_loss")
        else torch.nn.functional.cross_entropy(logits, y)
    )
    loss.backward()
    for parameter_name, parameter in model.named_parameters():
        assert parameter.grad is not None, f"{name}: {parameter_name} got no gradient"
        assert torch.isfinite(parameter.grad).all(), f"{name}: {parameter_name} has a non-finite gradient"


def test_duplicate_name_raises():
    with pytest.raises(ConfigError, match="already registered"):

        @register_model("ststnet", input_spec=InputSpec("flow", 3, 28))
        def again(*, num_classes: int, in_chans: int):
            return None


def test_unknown_model_and_option_are_named():
    with pytest.raises(ConfigError, match="unknown model 'nope'; registered models: .*ststnet"):
        create_model("nope", num_classes=3)
    with pytest.raises(ConfigError, match=r"has no option\(s\) \['dropuot'\]; valid options: \['dropout'\]"):
        create_model("ststnet", num_classes=3, dropuot=0.1)


def test_factories_may_not_swallow_kwargs():
    with pytest.raises(ConfigError, match=r"\*\*kwargs"):

        @register_model("swallower", input_spec=InputSpec("flow", 3, 28))
        def swallower(*, num_classes: int, in_chans: int, **options):
            return None
