"""Model bundles: identical predictions after a round trip, and loading never unpickles anything."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from flow_tables import make_flow_table
from microexp.cli import app
from microexp.errors import ConfigError, DataNotFoundError
from microexp.inputs import ArrayDataset, load_inputs
from microexp.models import get_model_info
from microexp.training.bundle import load_bundle, save_bundle
from microexp.training.config import TrainConfig
from microexp.training.engine import train_model

PREPROCESSING = {"inputs": {"flow_method": "tvl1", "norm": "minmax", "flow_size": 28}}


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    table = make_flow_table(tmp_path_factory.mktemp("toy"))
    return table, load_inputs(table, get_model_info("fr").inputs)


CONFIG = TrainConfig(epochs=2, batch_size=8, device="cpu", test_flip=True)


def fit(name, table, x, **options):
    train = ArrayDataset(x, table.labels, table.samples["subject"].to_numpy())
    return train_model(name, train, num_classes=3, seed=0, config=CONFIG, model_options=options)


@pytest.fixture
def forbid_pickle(monkeypatch):
    """Any attempt to unpickle (directly or through torch.load) fails the test."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("a bundle must load without unpickling")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(torch, "load", refuse)


@pytest.mark.parametrize(
    ("name", "options"), [("fr", {"dropout": 0.3}), ("ststnet", {}), ("linear", {"inner_folds": 2})]
)
def test_round_trip_gives_identical_probabilities(tmp_path, toy, forbid_pickle, name, options):
    table, x = toy
    trained = fit(name, table, x, **options)
    save_bundle(
        tmp_path / "b",
        trained,
        classes=table.classes,
        dataset="toy",
        preprocessing=PREPROCESSING,
        train_config=CONFIG,
    )
    bundle = load_bundle(tmp_path / "b")
    np.testing.assert_array_equal(bundle.predict_proba(x), trained.predict_proba(x))
    assert bundle.classes == table.classes
    assert bundle.inputs == trained.inputs
    assert bundle.preprocessing == PREPROCESSING
    assert bundle.train_config["epochs"] == 2
    assert bundle.trained.options == options
    assert bundle.trained.test_flip == (name != "linear")  # mirrored test inputs: torch models only


def test_bundle_is_json_plus_safetensors(tmp_path, toy):
    table, x = toy
    save_bundle(
        tmp_path / "b",
        fit("fr", table, x),
        classes=table.classes,
        dataset="toy",
        preprocessing={},
        train_config={},
    )
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["bundle.json", "manifest.json", "weights.safetensors"]
    description = json.loads((tmp_path / "b" / "bundle.json").read_text())
    assert description["model"] == "fr"
    assert description["classes"] == list(table.classes)
    assert description["inputs"] == {"flow": {"builder": "flow", "shape": [3, 28, 28]}}
    assert len(description["mean"]["flow"]) == len(description["std"]["flow"]) == 3


def test_wrong_input_shape_names_the_expected_one(tmp_path, toy):
    table, x = toy
    save_bundle(
        tmp_path / "b",
        fit("fr", table, x),
        classes=table.classes,
        dataset="toy",
        preprocessing={},
        train_config={},
    )
    with pytest.raises(ConfigError, match=r"flow shaped \(N, 3, 28, 28\), got \(2, 3, 14, 14\)"):
        load_bundle(tmp_path / "b").predict_proba({"flow": x["flow"][:2, :, :14, :14]})


def test_missing_bundle_says_how_to_make_one(tmp_path):
    with pytest.raises(DataNotFoundError, match="microexp train"):
        load_bundle(tmp_path)


def test_class_names_must_match_the_model(tmp_path, toy):
    table, x = toy
    with pytest.raises(ConfigError, match="2 class names"):
        save_bundle(
            tmp_path / "b",
            fit("fr", table, x),
            classes=["a", "b"],
            dataset="toy",
            preprocessing={},
            train_config={},
        )


def test_a_format_1_bundle_still_loads_and_predicts_the_same(tmp_path, toy):
    table, x = toy
    trained = fit("fr", table, x)
    save_bundle(tmp_path / "b", trained, classes=table.classes, dataset="toy", preprocessing={}, train_config=CONFIG)
    description = json.loads((tmp_path / "b" / "bundle.json").read_text())
    old = {key: value for key, value in description.items() if key not in ("inputs", "mean", "std")}
    old.update(
        format_version=1,
        input_spec={"modality": "flow", "channels": 3, "size": 28, "frames": 1},
        in_chans=3,
        mean=description["mean"]["flow"],
        std=description["std"]["flow"],
        preprocessing={"flow_method": "farneback", "norm": "minmax", "size": 28},
    )
    (tmp_path / "b" / "bundle.json").write_text(json.dumps(old))
    (tmp_path / "b" / "manifest.json").unlink()  # format 1 bundles predate manifests
    with pytest.warns(UserWarning, match="no manifest.json"):
        bundle = load_bundle(tmp_path / "b")
    np.testing.assert_array_equal(bundle.predict_proba(x), trained.predict_proba(x))
    assert bundle.input_settings.flow_method == "farneback"


def _train_args(data_dir, out):
    return ["train", "--dataset", "megc2019", "--data-dir", str(data_dir), "--model", "fr", "--out", str(out)]


def test_train_command_writes_a_bundle_with_training_and_model_options(tmp_path, tiny_megc2019):
    overrides = ["--set", "train.epochs=2", "--set", "train.batch_size=8", "--set", "model.dropout=0.25"]
    result = CliRunner().invoke(app, [*_train_args(tiny_megc2019, tmp_path / "b"), *overrides])
    assert result.exit_code == 0, result.output
    bundle = load_bundle(tmp_path / "b")
    assert bundle.train_config["epochs"] == 2 and bundle.train_config["batch_size"] == 8
    assert bundle.trained.options == {"dropout": 0.25}
    assert bundle.dataset == "megc2019"


@pytest.mark.parametrize(
    ("override", "named"),
    [("train.epochz=2", "epochz"), ("model.dropuot=0.1", "dropuot"), ("epochs=2", "section.key=value")],
)
def test_train_command_rejects_an_unknown_option_before_writing(tmp_path, tiny_megc2019, override, named):
    result = CliRunner().invoke(app, [*_train_args(tiny_megc2019, tmp_path / "b"), "--set", override])
    assert isinstance(result.exception, ConfigError)
    assert named in str(result.exception)
    assert not (tmp_path / "b").exists()
