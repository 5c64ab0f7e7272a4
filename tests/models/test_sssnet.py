"""SSSNet: MEB's layer sizes at its 64x64 input and ours at the composite's 28x28."""

from __future__ import annotations

import torch

from microexp.models.sssnet import SSSNet


def test_the_first_fc_reads_the_last_maps_at_either_input_size():
    assert SSSNet(input_size=64).head[0].in_features == 9 * 9 * 64  # MEB's fc1
    model = SSSNet(input_size=28)
    assert model.head[0].in_features == 3 * 3 * 64 and model.head[0].out_features == 256
    assert model(torch.randn(2, 3, 28, 28)).shape == (2, 3)
