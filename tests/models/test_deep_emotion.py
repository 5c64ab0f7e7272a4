"""Deep-Emotion: shapes, gradients, the spatial transformer's identity start, the registered variants."""

from __future__ import annotations

import pytest
import torch

from microexp.errors import ConfigError
from microexp.models.deep_emotion import DeepEmotion
from microexp.models.registry import create_model, get_model_info


@pytest.mark.parametrize("name", ["deep_emotion", "deep_emotion_apexflow"])
def test_forward_backward_reach_every_parameter(name):
    torch.manual_seed(0)
    specs = get_model_info(name).inputs
    model = create_model(name, num_classes=3)
    x, y = [torch.randn(spec.batch_shape(6)) for spec in specs.values()], torch.tensor([0, 1, 2, 0, 1, 2])
    loss_fn = torch.nn.CrossEntropyLoss()
    # The localisation layers get gradient only once the last layer leaves its zero (identity) start, as in
    # any spatial transformer: take one step first, then every parameter must move the loss.
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)  # a small step: a large one can kill ReLUs
    model.training_loss(x, y, loss_fn).backward()
    optimizer.step()
    optimizer.zero_grad()
    loss = model.training_loss(x, y, loss_fn)
    loss.backward()
    assert torch.isfinite(loss)
    for parameter_name, parameter in model.named_parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), parameter_name
        assert parameter.grad.abs().sum() > 0, parameter_name


def test_layer_sizes_match_the_reference_at_48():
    model = DeepEmotion(num_classes=7)
    assert model.fc_loc[0].in_features == 640 and model.fc1.in_features == 810
    assert model.fc1.out_features == 50 and model.fc2.out_features == 7
    assert sum(p.numel() for p in model.parameters()) == 66877


def test_spatial_transformer_starts_at_identity():
    model = DeepEmotion(num_classes=7).eval()
    x = torch.rand(3, 1, 48, 48)
    theta = model.transform(x)
    assert torch.equal(theta, torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]).expand(3, 2, 3))
    assert torch.allclose(model.attend(x), x, atol=1e-5)


def test_other_input_sizes_and_the_penalty():
    model = DeepEmotion(num_classes=3, in_chans=4, input_size=64)
    assert model(torch.randn(2, 4, 64, 64)).shape == (2, 3)
    x, y = torch.randn(2, 4, 64, 64), torch.tensor([0, 1])
    plain = DeepEmotion(num_classes=3, in_chans=4, input_size=64, fc_penalty=0.0)
    plain.load_state_dict(model.state_dict())
    model.eval(), plain.eval()
    loss_fn = torch.nn.CrossEntropyLoss()
    expected = model.fc_penalty * (model.fc1.weight.pow(2).sum() + model.fc2.weight.pow(2).sum())
    assert torch.allclose(model.training_loss([x], y, loss_fn) - plain.training_loss([x], y, loss_fn), expected)


def test_dropout_is_off_in_eval():
    model = DeepEmotion(num_classes=7).eval()
    x = torch.randn(4, 1, 48, 48)
    assert torch.equal(model(x), model(x))


def test_the_paper_layout_warps_the_feature_maps_with_3x3_localisation():
    model = DeepEmotion(num_classes=3, layout="paper").eval()
    kernels = [m.kernel_size for m in model.localization if isinstance(m, torch.nn.Conv2d)]
    assert kernels == [(3, 3), (3, 3)] and model.localization[0].in_channels == 10
    assert model.fc_loc[0].in_features == 160 and model.fc1.in_features == 810
    x = torch.rand(3, 1, 48, 48)
    warped = model.attend(x)
    assert warped.shape == (3, 10, 22, 22)  # the maps after two convolutions and a pooling, not the image
    assert torch.allclose(warped, model.stem(x), atol=1e-5)  # identity start
    with pytest.raises(ConfigError, match="layout 'papr' is unknown"):
        DeepEmotion(layout="papr")


def test_the_registry_says_which_layout_is_which():
    assert "paper layout" in get_model_info("deep_emotion_paper").description
    assert "reference-code layout" in get_model_info("deep_emotion").description
