"""Training pieces the still-image databases need: image augmentation, a fixed validation set, and the
runner with any splitter (subject k-fold, the official FER-2013 split)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from microexp.data.fer2013 import FER2013
from microexp.data.schema import build_table
from microexp.data.splitters import OfficialSplit, SubjectKFold
from microexp.errors import ConfigError
from microexp.evaluation.runner import cross_validate, summarise
from microexp.inputs import ArrayDataset
from microexp.inputs.transforms import random_affine
from microexp.training.config import TrainConfig
from microexp.training.engine import train_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
from test_macro_adapters import FER_ROWS, write_fer_csv  # noqa: E402

FAST = TrainConfig(epochs=2, batch_size=4, lr=1e-3)


def test_random_affine_without_motion_is_the_identity_and_shift_moves_content():
    x = torch.zeros(8, 1, 32, 32)
    x[:, :, :, 14:18] = 255.0  # a vertical bar in the middle
    generator = torch.Generator().manual_seed(0)
    assert torch.allclose(random_affine(x, shift=0.0, degrees=0.0, generator=generator), x, atol=1e-3)
    moved = random_affine(x, shift=0.25, degrees=0.0, generator=generator)
    centres = (moved[:, 0, 16] * torch.arange(32.0)).sum(1) / moved[:, 0, 16].sum(1)
    assert moved.shape == x.shape and moved.min() >= 0 and moved.max() <= 255 + 1e-3
    assert (centres - 15.5).abs().max() > 1.0  # some bars moved sideways
    assert (centres - 15.5).abs().max() <= 0.25 * 32 + 1


def test_rotation_is_refused_for_flow_inputs_and_bad_values_for_all():
    x = np.zeros((4, 3, 28, 28), dtype=np.float32)
    with pytest.raises(ConfigError, match="ststnet takes flow 3x28x28: augment_rotate is for face images"):
        train_model(
            "ststnet",
            ArrayDataset({"flow": x}, [0, 1, 0, 1], list("abcd")),
            num_classes=2,
            seed=0,
            config=FAST.replace(augment_rotate=10.0),
        )
    with pytest.raises(ConfigError, match="augment_shift must be in"):
        TrainConfig(augment_shift=0.7)


def test_a_fixed_validation_set_drives_early_stopping_and_is_not_fitted():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (16, 1, 48, 48)).astype(np.float32)
    y = rng.integers(0, 2, 16)
    x_val = rng.uniform(0, 255, (6, 1, 48, 48)).astype(np.float32)
    y_val = rng.integers(0, 2, 6)
    epochs = []
    config = TrainConfig(epochs=60, batch_size=8, lr=1e-3, early_stopping_patience=2)
    trained = train_model(
        "deep_emotion",
        ArrayDataset({"apex": x}, y, [f"s{i}" for i in range(16)]),
        num_classes=2,
        seed=0,
        config=config,
        validation=ArrayDataset({"apex": x_val}, y_val),
        on_epoch=lambda e, n, loss: epochs.append(e),
    )
    assert len(epochs) < 60  # random labels: the validation loss stops improving
    assert np.allclose(trained.mean["apex"], x.mean(axis=(0, 2, 3)))  # statistics from the training rows only


def test_runner_with_the_official_split_predicts_private_test_only(tmp_path):
    write_fer_csv(tmp_path / "fer2013.csv", FER_ROWS * 2)
    table = FER2013(tmp_path).load()
    predictions = cross_validate(table, "deep_emotion", config=FAST, splitter=OfficialSplit())
    private = table.samples.loc[table.samples["split"] == "PrivateTest", "clip_id"]
    assert list(predictions["clip_id"]) == list(private)
    assert set(predictions["fold"]) == {"PrivateTest"}
    summary = summarise(predictions, table, model="deep_emotion", wall_seconds=1.0)
    assert summary["n_folds"] == 1 and summary["n_clips"] == len(private)


def test_runner_with_subject_kfold_predicts_every_image_once_per_seed():
    rng = np.random.default_rng(1)
    rows = [
        {
            "dataset": "t",
            "subject": f"S{i % 6}",
            "clip_id": f"t/S{i % 6}/{i}",
            "clip": str(i),
            "label": i % 2,
            "apex_image": rng.integers(0, 256, (48, 48), dtype=np.uint8),
        }
        for i in range(18)
    ]
    table = build_table("t", ("a", "b"), rows)
    predictions = cross_validate(table, "deep_emotion", seeds=(0, 1), config=FAST, splitter=SubjectKFold(3, seed=0))
    assert len(predictions) == 2 * 18
    assert predictions.groupby("seed")["clip_id"].apply(lambda c: c.is_unique and len(c) == 18).all()
    assert predictions["fold"].nunique() == 3
