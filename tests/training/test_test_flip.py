"""Test-time mirroring: the prediction is the mean over the input and its mirror image."""

from __future__ import annotations

import numpy as np
import torch

from microexp.inputs.transforms import mirror
from microexp.models import create_model, get_model_info
from microexp.training.engine import TrainedModel


def test_test_flip_averages_the_input_and_its_mirror():
    torch.manual_seed(0)
    specs = get_model_info("fr").inputs
    model = create_model("fr", num_classes=3).eval()
    mean, std = {"flow": np.full(3, 100.0)}, {"flow": np.full(3, 50.0)}
    x = torch.rand(specs["flow"].batch_shape(4)) * 255

    def proba(test_flip: bool, inputs: torch.Tensor) -> np.ndarray:
        trained = TrainedModel("fr", 3, specs, model, mean, std, {}, test_flip=test_flip)
        return trained.predict_proba({"flow": inputs.numpy()})

    expected = (proba(False, x) + proba(False, mirror(x, "flow"))) / 2
    np.testing.assert_allclose(proba(True, x), expected, rtol=1e-6)
    assert not np.allclose(proba(True, x), proba(False, x))
