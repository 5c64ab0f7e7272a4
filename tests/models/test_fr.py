"""FR (Feature Refinement) and its ablations: shapes, gradients, the proposal loss, attention maps."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from microexp.models import create_model, get_model_info, list_models

VARIANTS = ("fr", "fr_no_proposal", "fr_no_attention", "fr_no_fusion")


def batch(size: int = 6, classes: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(get_model_info("fr").inputs["flow"].batch_shape(size), generator=generator)
    return x, torch.arange(size) % classes


def test_every_variant_is_registered_with_a_flow_input():
    for name in VARIANTS:
        assert name in list_models()
        spec = get_model_info(name).inputs["flow"]
        assert (spec.builder, spec.shape) == ("flow", (3, 28, 28))


@pytest.mark.parametrize("name", VARIANTS)
def test_forward_backward_every_parameter_gets_a_finite_gradient(name):
    torch.manual_seed(0)
    model = create_model(name, num_classes=3)
    x, y = batch()
    logits = model(x)
    assert logits.shape == (6, 3)
    loss = model.training_loss([x], y, nn.CrossEntropyLoss())
    loss.backward()
    assert torch.isfinite(loss)
    for parameter_name, parameter in model.named_parameters():
        assert parameter.grad is not None, f"{name}: {parameter_name} gets no gradient"
        assert torch.isfinite(parameter.grad).all(), f"{name}: {parameter_name} has a non-finite gradient"
        assert parameter.grad.abs().sum() > 0, f"{name}: {parameter_name} gets a zero gradient"


@pytest.mark.parametrize("name", VARIANTS)
def test_class_attention_gives_one_map_per_class_in_unit_range(name):
    model = create_model(name, num_classes=4).eval()
    x, _ = batch(classes=4)
    maps = model.class_attention(x)
    assert maps.shape == (6, 4, 7, 7)
    assert maps.min() >= 0 and maps.max() <= 1


def test_per_class_attention_maps_differ_between_classes():
    torch.manual_seed(0)
    model = create_model("fr", num_classes=3).eval()
    maps = model.class_attention(batch()[0])
    assert not torch.allclose(maps[:, 0], maps[:, 1])


def test_ablations_remove_exactly_their_part():
    parts = {
        name: {n.split(".")[0] for n, _ in create_model(name, num_classes=3).named_parameters()}
        for name in VARIANTS
    }
    assert {"shared", "specific", "attend", "propose", "classify"} <= parts["fr"]
    assert parts["fr"] - parts["fr_no_proposal"] == {"propose"}
    assert parts["fr"] - parts["fr_no_attention"] == {"attend"}
    assert parts["fr"] - parts["fr_no_fusion"] == {"classify"}


@torch.no_grad()
def test_proposal_loss_is_added_to_the_classification_loss_with_its_weight():
    x, y = batch()
    criterion = nn.CrossEntropyLoss()
    losses = {}
    for weight in (0.0, 1.0, 2.0):
        torch.manual_seed(0)
        model = create_model("fr", num_classes=3, proposal_weight=weight).eval()  # eval: no dropout
        losses[weight] = float(model.training_loss([x], y, criterion))
        if weight == 0.0:
            assert losses[weight] == pytest.approx(float(criterion(model(x), y)))
    proposal = losses[1.0] - losses[0.0]
    assert proposal > 0
    assert losses[2.0] - losses[0.0] == pytest.approx(2 * proposal, rel=1e-5)


@torch.no_grad()
def test_without_the_proposal_module_the_loss_is_plain_cross_entropy():
    torch.manual_seed(0)
    model = create_model("fr_no_proposal", num_classes=3).eval()
    x, y = batch()
    criterion = nn.CrossEntropyLoss()
    assert float(model.training_loss([x], y, criterion)) == pytest.approx(float(criterion(model(x), y)))


def test_unknown_option_is_rejected_with_the_valid_ones():
    with pytest.raises(ValueError, match="valid options"):
        create_model("fr", num_classes=3, proposal_wieght=1.0)


def test_fr_learns_a_separable_toy_problem():
    torch.manual_seed(0)
    x = torch.randn(60, 3, 28, 28) * 0.3
    y = torch.arange(60) % 3
    for label in range(3):
        x[y == label, 0, 4 + 8 * label : 10 + 8 * label, 8:20] += 2.0
    model = create_model("fr", num_classes=3)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(40):
        loss = model.training_loss([x], y, nn.CrossEntropyLoss())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    accuracy = (model(x).argmax(1) == y).float().mean()
    assert accuracy > 0.9


def test_grouped_linear_is_a_grouped_1x1_convolution():
    # GroupedLinear replaced a grouped Conv1d for speed; it must compute the same function.
    from microexp.models.layers import GroupedLinear

    torch.manual_seed(0)
    layer = GroupedLinear(12, 6, groups=3)
    conv = nn.Conv1d(12, 6, 1, groups=3)
    with torch.no_grad():
        # Conv1d weight (out, in / groups, 1) holds group g's outputs in rows g*2 .. g*2+1.
        conv.weight.copy_(layer.weight.transpose(1, 2).reshape(6, 4, 1))
        conv.bias.copy_(layer.bias.reshape(6))
    x = torch.randn(5, 12)
    torch.testing.assert_close(layer(x), conv(x.unsqueeze(-1)).squeeze(-1))
    # Group g reads only its own slice of the input.
    changed = x.clone()
    changed[:, :4] += 1.0
    assert torch.equal(layer(changed)[:, 2:], layer(x)[:, 2:])
    assert not torch.equal(layer(changed)[:, :2], layer(x)[:, :2])


def test_grouped_linear_refuses_sizes_that_do_not_split_into_its_groups():
    from microexp.models.layers import GroupedLinear

    with pytest.raises(ValueError, match="groups"):
        GroupedLinear(10, 6, groups=3)


def test_inception_is_its_three_convolution_paths_concatenated():
    # One masked 5x5 convolution replaced three (1x1, 3x3, 5x5) for speed: the same function.
    import torch.nn.functional as F

    from microexp.models.layers import Inception

    torch.manual_seed(0)
    block = Inception(in_chans=4, width=5).eval()
    x = torch.randn(2, 4, 28, 28)
    paths = []
    for index, kernel in enumerate(block.kernel_sizes):
        start = (5 - kernel) // 2
        weight = block.weight[index * 5 : (index + 1) * 5, :, start : start + kernel, start : start + kernel]
        paths.append(F.conv2d(x, weight, stride=2, padding=kernel // 2))
    expected = F.relu(block.norm(torch.cat(paths, dim=1)))
    assert torch.allclose(block(x), expected, atol=1e-5)
    # Outside each path's kernel the weights are zero and get no gradient, so they stay zero in training.
    block(x).sum().backward()
    assert torch.equal(block.weight.grad * (1 - block.mask), torch.zeros_like(block.weight))
    assert torch.equal(block.weight.detach() * (1 - block.mask), torch.zeros_like(block.weight))
    # Each path starts as its own nn.Conv2d would: uniform within 1 / sqrt(fan in).
    for index, kernel in enumerate(block.kernel_sizes):
        path = block.weight[index * 5 : (index + 1) * 5].detach()
        assert path.abs().max() <= 1 / (4 * kernel * kernel) ** 0.5


def test_dropout_keeps_the_expected_value_and_is_off_in_eval():
    from microexp.models.layers import Dropout

    torch.manual_seed(0)
    layer = Dropout(0.5)
    x = torch.ones(200, 500)
    dropped = layer(x)
    assert set(dropped.unique().tolist()) == {0.0, 2.0}
    assert abs(float(dropped.mean()) - 1.0) < 0.02
    assert torch.equal(layer.eval()(x), x)
