"""The readings of benchmarks/epoch_selection_bias.py, on epoch curves whose answers are known by hand."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "epoch_selection_bias.py"


@pytest.fixture(scope="module")
def benchmark():
    spec = importlib.util.spec_from_file_location("epoch_selection_bias", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_each_reading_picks_what_it_says(benchmark):
    labels = np.array([0, 1, 0, 1])
    folds = [np.array([0, 1]), np.array([2, 3])]
    right0, wrong0 = [0.9, 0.1], [0.1, 0.9]  # for a clip of class 0
    right1, wrong1 = [0.1, 0.9], [0.9, 0.1]  # for a clip of class 1
    curves = np.array(
        [
            [right0, [0.0, 1.0], wrong0, wrong1],  # epoch 1: the first fold right, the second wrong
            [wrong0, wrong1, right0, right1],  # epoch 2: the other way round
            [right0, [0.55, 0.45], right0, wrong1],  # epoch 3, the last: half right
        ]
    )
    readings = benchmark.readings(curves, labels, folds)

    assert readings["fixed schedule"]["accuracy"] == 0.5
    assert readings["fixed schedule"]["epoch"] == 3
    # Averaged over the epochs, clip 1's certain first epoch (1.0) outweighs its two misses (0.1, 0.45).
    assert readings["mean over epochs"]["accuracy"] == 0.75
    # Epochs 1 and 2 tie on pooled UF1 (0.5, above the last epoch's 0.33): the first of them is kept.
    assert readings["best epoch overall"]["epoch"] == 1
    # Each fold keeps the epoch that was right on it: epoch 1 for the first, epoch 2 for the second.
    assert readings["best epoch per fold"]["accuracy"] == 1.0
    assert readings["best epoch per fold"]["median epoch"] == 1.5
    assert set(readings) == set(benchmark.READINGS)
