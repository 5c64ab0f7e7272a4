"""Test-time mirroring: the prediction is the mean over the input and its mirror image."""

from __future__ import annotations

import numpy as np
import torch

from microexp.models import create_model, get_model_info
from microexp.training.engine import TrainedModel, mirror_flow


def test_test_flip_averages_the_input_and_its_mirror():
    torch.manual_seed(0)
    spec = get_model_info("fr").input_spec
    model = create_model("fr", num_classes=3).eval()
    mean, std = np.full(3, 100.0), np.full(3, 50.0)
    x = torch.rand(spec.shape(4)) * 255

    def proba(test_flip: bool, inputs: torch.Tensor) -> np.ndarray:
        trained = TrainedModel("fr", 3, spec, model, mean, std, {}, test_flip=test_flip)
        return trained.predict_proba(inputs.numpy())

    expected = (proba(False, x) + proba(False, mirror_flow(x, spec))) / 2
    np.testing.assert_allclose(proba(True, x), expected, rtol=1e-6)
    assert not np.allclose(proba(True, x), proba(False, x))
