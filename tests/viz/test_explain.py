"""`microexp explain`: re-creates a run's fold and draws per-class maps over the flow and the face."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

import microexp.data.registry
from flow_tables import make_flow_table
from microexp.cli import app
from microexp.errors import ConfigError, DataNotFoundError
from microexp.evaluation.runner import run_loso
from microexp.training.config import TrainConfig
from microexp.viz.explain import explain_run

CONFIG = TrainConfig(epochs=2, batch_size=8, device="cpu")


@pytest.fixture
def run_dir(tmp_path, monkeypatch):
    """A run folder as `microexp evaluate` writes it, over a generated 3-subject flow database."""
    table = make_flow_table(tmp_path / "data")
    monkeypatch.setattr(microexp.data.registry, "load_table", lambda *_args: table, raising=False)

    def make(model: str, predictions: bool = False) -> tuple:
        run = tmp_path / f"run_{model}"
        run.mkdir()
        config = {
            "dataset": "toy",
            "data_dir": str(tmp_path / "data"),
            "protocol": None,
            "model": model,
            "model_options": {},
            "train_config": dataclasses.asdict(CONFIG),
            "seeds": [0],
        }
        (run / "config.json").write_text(json.dumps(config))
        if not predictions:
            return run, table, None
        # One thread, as in `microexp evaluate`'s worker processes (and in explain's re-training): with two,
        # floating point sums run in another order and the probabilities move in the sixth decimal.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            frame = run_loso(table, model, seeds=[0], config=CONFIG)
        finally:
            torch.set_num_threads(threads)
        frame.to_csv(run / "predictions.csv", index=False)
        return run, table, frame

    return make


def test_explain_writes_a_picture_for_a_clip(run_dir, tmp_path):
    run, table, _ = run_dir("fr")
    clip = table.samples["clip_id"].iloc[4]
    out = tmp_path / "pics" / "clip.png"
    result = CliRunner().invoke(app, ["explain", "--run", str(run), "--clip", clip, "--out", str(out)])
    assert result.exit_code == 0, result.output
    with Image.open(out) as picture:
        assert picture.format == "PNG" and picture.width > picture.height > 200


@pytest.mark.parametrize("model", ["fr", "ststnet"])
def test_explanation_is_of_the_fold_model_that_made_the_runs_prediction(run_dir, model):
    run, table, predictions = run_dir(model, predictions=True)
    clip = table.samples["clip_id"].iloc[7]
    explanation = explain_run(run, clip)
    columns = [f"p_{c}" for c in table.classes]
    recorded = predictions.loc[predictions["clip_id"] == clip, columns].to_numpy()[0]
    np.testing.assert_allclose(explanation.proba, recorded, atol=1e-6)
    assert explanation.maps.shape == (3, 28, 28)
    assert explanation.maps.min() >= 0 and explanation.maps.max() <= 1
    assert explanation.face is not None and explanation.face.shape == (48, 48, 3)
    assert explanation.label == table.labels[7]


def test_unknown_clip_and_seed_are_explained(run_dir):
    run, _, _ = run_dir("fr")
    with pytest.raises(ConfigError, match="clip 'toy/s09/x' is not in toy"):
        explain_run(run, "toy/s09/x")
    with pytest.raises(ConfigError, match=r"used seeds \[0\]; --seed 3"):
        explain_run(run, "toy/s00/s00_0_0", seed=3)


def test_a_folder_that_is_not_a_run_is_refused(tmp_path):
    with pytest.raises(DataNotFoundError, match="config.json is missing"):
        explain_run(tmp_path, "toy/s00/s00_0_0")
