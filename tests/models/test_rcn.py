"""RCN-A: the recurrent layer's shared convolution and the parameter-free class attention."""

from __future__ import annotations

import torch

from microexp.models.rcn import RCNA, class_attention


def test_class_attention_is_a_unit_range_map_averaged_over_classes():
    torch.manual_seed(0)
    features, weights = torch.randn(2, 4, 3, 3), torch.randn(3, 4 * 3 * 3)
    attention = class_attention(features, weights)
    assert attention.shape == (2, 1, 3, 3)
    assert attention.min() >= 0 and attention.max() <= 1
    # one class: its own min-max scaled map, with 0 and 1 reached
    single = class_attention(features, weights[:1])
    assert torch.isclose(single.amin(dim=(1, 2, 3)), torch.zeros(2), atol=1e-6).all()
    assert torch.isclose(single.amax(dim=(1, 2, 3)), torch.ones(2), atol=1e-5).all()
    expected = (weights[:1].view(1, 4, 3, 3) * features).mean(dim=1)
    low = expected.amin(dim=(1, 2), keepdim=True)
    assert torch.allclose(single[:, 0], (expected - low) / (expected - low).amax(dim=(1, 2), keepdim=True), atol=1e-5)


def test_the_recurrent_layer_adds_no_parameters_for_its_second_step():
    model = RCNA(num_classes=3)
    recurrent = sum(p.numel() for p in model.recurrent.parameters())
    # one 1x1 and one 3x3 convolution of 64 maps with their batch norms, whatever the unrolled steps
    assert recurrent == (64 * 64 + 2 * 64) + (64 * 64 * 9 + 2 * 64)
    assert model(torch.randn(2, 3, 28, 28)).shape == (2, 3)


def test_a_flat_map_does_not_divide_by_zero():
    attention = class_attention(torch.ones(1, 2, 3, 3), torch.ones(3, 18))
    assert torch.isfinite(attention).all() and (attention == 0).all()
