"""Watching training epoch by epoch (benchmarks/epoch_selection_bias.py) must not change the training."""

from __future__ import annotations

import numpy as np

from microexp.inputs import ArrayDataset
from microexp.models import get_model_info
from microexp.training.config import TrainConfig
from microexp.training.engine import train_model


def test_inspecting_every_epoch_leaves_the_trained_model_unchanged():
    spec = get_model_info("fr").inputs["flow"]
    rng = np.random.default_rng(0)
    train = ArrayDataset({"flow": rng.uniform(0, 255, spec.batch_shape(24))}, np.arange(24) % 3, np.arange(24) % 6)
    test_x = {"flow": rng.uniform(0, 255, spec.batch_shape(5)).astype(np.float32)}
    config = TrainConfig(epochs=3, batch_size=8, augment_flip=True, test_flip=True)
    seen = []

    def look(epoch, trained):
        seen.append((epoch, trained.predict_proba(test_x)))

    watched = train_model("fr", train, num_classes=3, seed=4, config=config, inspect_epoch=look)
    alone = train_model("fr", train, num_classes=3, seed=4, config=config)
    assert [epoch for epoch, _ in seen] == [1, 2, 3]
    np.testing.assert_array_equal(watched.predict_proba(test_x), alone.predict_proba(test_x))
    np.testing.assert_array_equal(seen[-1][1], alone.predict_proba(test_x))
    assert not np.array_equal(seen[0][1], seen[-1][1])  # the model did change between epochs
