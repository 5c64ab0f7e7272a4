"""`microexp explain`: re-creates a run's fold and draws per-class maps over the flow and the face."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from microexp.cli import app
from microexp.data.megc2019 import MEGC2019
from microexp.data.synthetic_render import SyntheticSettings
from microexp.data.synthetic_write import write_database
from microexp.errors import ConfigError, DataNotFoundError
from microexp.evaluation.runner import cross_validate
from microexp.evaluation.study import evaluate, make_run_spec
from microexp.training.config import TrainConfig
from microexp.viz.explain import explain_run

CONFIG = TrainConfig(epochs=2, batch_size=8, device="cpu")


@pytest.fixture
def run_dir(tmp_path, tiny_megc2019):
    """A run folder as `microexp evaluate` writes it, over a generated copy of the composite."""
    table = MEGC2019(tiny_megc2019).load()

    def make(model: str, predictions: bool = False) -> tuple:
        run = tmp_path / f"run_{model}"
        run.mkdir()
        spec = make_run_spec(dataset="megc2019", data_dir=tiny_megc2019, model=model, train=vars(CONFIG))
        (run / "config.json").write_text(json.dumps(spec.record()))
        if not predictions:
            return run, table, None
        # One thread, as in `microexp evaluate`'s worker processes (and in explain's re-training): with two,
        # floating point sums run in another order and the probabilities move in the sixth decimal.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            frame = cross_validate(table, model, seeds=[0], config=spec.train)
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
    assert explanation.face is None  # the generated copy ships no apex faces
    assert explanation.label == table.labels[7]


def test_unknown_clip_and_seed_are_explained(run_dir):
    run, _, _ = run_dir("fr")
    with pytest.raises(ConfigError, match="clip 'megc2019/s09/x' is not in megc2019"):
        explain_run(run, "megc2019/s09/x")
    with pytest.raises(ConfigError, match=r"used seeds \[0\]; --seed 3"):
        explain_run(run, "casme2/sub06/EP00_00f", seed=3)


def test_a_folder_that_is_not_a_run_is_refused(tmp_path):
    with pytest.raises(DataNotFoundError, match="config.json is missing"):
        explain_run(tmp_path, "casme2/sub06/EP00_00f")


def test_explain_works_on_a_run_whose_flows_microexp_computed(tmp_path):
    database = write_database(tmp_path / "database", SyntheticSettings(subjects=3, clips_per_class=1, fps=100))
    spec = make_run_spec(dataset="synthetic", data_dir=database, model="ststnet", train={"epochs": 2})
    summary, _ = evaluate(spec, tmp_path / "run", cache_dir=tmp_path / "cache")
    assert summary["n_clips"] == 9
    predictions = pd.read_csv(tmp_path / "run" / "predictions.csv")
    first = predictions["clip_id"].iloc[0]
    explanation = explain_run(tmp_path / "run", first, cache_dir=tmp_path / "cache")
    recorded = predictions.loc[predictions["clip_id"] == first, ["p_negative", "p_positive", "p_surprise"]].to_numpy()[
        0
    ]
    np.testing.assert_allclose(explanation.proba, recorded, atol=1e-5)
    assert explanation.flow.shape == (28, 28, 3) and explanation.maps.shape == (3, 28, 28)
