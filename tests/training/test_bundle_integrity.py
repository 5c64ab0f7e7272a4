"""Damaged, foreign or absurd bundles are refused with one line naming the bundle, before any model is built;
a bundle's files are checked against its manifest; non-finite weights are never used."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import sys
import warnings

import pytest
import torch
from safetensors.torch import load_file, save_file

from flow_tables import make_flow_table
from microexp import cli
from microexp.errors import ConfigError, DataError, UnreadableFileError
from microexp.files import file_record
from microexp.inputs import ArrayDataset, load_inputs
from microexp.models import get_model_info
from microexp.training import bundle as bundle_module
from microexp.training.bundle import load_bundle, save_bundle
from microexp.training.config import TrainConfig
from microexp.training.engine import train_model

CONFIG = TrainConfig(epochs=1, batch_size=8, device="cpu")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    table = make_flow_table(tmp_path_factory.mktemp("toy"))
    x = load_inputs(table, get_model_info("fr").inputs)
    train = ArrayDataset(x, table.labels, table.samples["subject"].to_numpy())
    return train_model("fr", train, num_classes=3, seed=0, config=CONFIG), table.classes


@pytest.fixture
def saved(tmp_path, trained):
    model, classes = trained
    return save_bundle(tmp_path / "b", model, classes=classes, dataset="toy", preprocessing={}, train_config=CONFIG)


def _without_manifest(folder):
    """A bundle as saved before manifests: the checks below the manifest must hold on their own."""
    (folder / "manifest.json").unlink()
    return folder


def _description(folder):
    return json.loads((folder / "bundle.json").read_text())


def test_the_manifest_lists_every_file_with_its_size_and_sha256(saved):
    files = json.loads((saved / "manifest.json").read_text())["files"]
    assert sorted(files) == ["bundle.json", "weights.safetensors"]
    for name, record in files.items():
        data = (saved / name).read_bytes()
        assert record == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a whole bundle loads without the missing-manifest warning
        load_bundle(saved)


@pytest.mark.parametrize("name", ["bundle.json", "weights.safetensors"])
def test_a_file_changed_after_saving_is_refused_by_its_checksum(saved, name):
    data = bytearray((saved / name).read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit: the size is unchanged, only the checksum can tell
    (saved / name).write_bytes(bytes(data))
    with pytest.raises(UnreadableFileError, match=rf"{name} is not the file the bundle was saved with.*copy the"):
        load_bundle(saved)


def test_a_bundle_without_a_manifest_loads_with_a_warning(saved):
    with pytest.warns(UserWarning, match=r"no manifest.json \(saved before bundles carried checksums\)"):
        load_bundle(_without_manifest(saved))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: data[: len(data) - 100], "incomplete metadata"),  # truncated by a copy
        (lambda data: b"", "header too small"),  # empty
        (lambda data: b"PK\x03\x04" + bytes(500), "cannot be read"),  # a zip file, not safetensors
    ],
    ids=["truncated", "empty", "foreign-format"],
)
def test_damaged_weights_are_one_error_naming_the_file(saved, damage, message):
    path = _without_manifest(saved) / "weights.safetensors"
    path.write_bytes(damage(path.read_bytes()))
    with pytest.warns(UserWarning), pytest.raises(UnreadableFileError, match=rf"weights.safetensors.*{message}"):
        load_bundle(saved)


def test_weights_of_another_model_are_refused_naming_the_tensors(saved):
    from microexp.models.registry import create_model

    foreign = {key: value.contiguous() for key, value in create_model("ststnet", num_classes=3).state_dict().items()}
    save_file(foreign, str(_without_manifest(saved) / "weights.safetensors"))
    with pytest.warns(UserWarning), pytest.raises(ConfigError, match=r"not hold the weights of 'fr' with 3 classes"):
        load_bundle(saved)


def test_a_description_for_another_class_count_is_refused(saved):
    description = _description(_without_manifest(saved))
    description.update(num_classes=4, classes=["a", "b", "c", "d"])
    (saved / "bundle.json").write_text(json.dumps(description))
    expected = r"weights of 'fr' with 4 classes .*is \(24, .*expected \(32, "  # the class-specific branches
    with pytest.warns(UserWarning), pytest.raises(ConfigError, match=expected):
        load_bundle(saved)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"num_classes": "3"}, "num_classes should be a int, got '3'"),
        ({"classes": ["negative", "positive"]}, "3 classes with the names"),
        ({"model_options": None}, "model_options should be a dict"),
        ({"model": "resnet9000"}, "unknown model 'resnet9000'"),
        ({"model_options": {"dropout": 0.5, "layers": 9}}, r"has no option\(s\) \['layers'\]"),
        ({"model_options": {"feature_dim": "wide"}}, "cannot be built with options"),
        ({"model_options": {"feature_dim": 10_000_000}}, r"would hold \d+ M parameters, more than the 100 M"),
        ({"format_version": 7}, "bundle format 7 is not supported"),
    ],
)
def test_a_description_out_of_bounds_is_refused_before_a_model_is_built(saved, monkeypatch, change, message):
    description = _description(_without_manifest(saved))
    (saved / "bundle.json").write_text(json.dumps({**description, **change}))
    built = []
    monkeypatch.setattr(bundle_module.TrainedModel, "__init__", lambda *args, **kwargs: built.append(args))
    with pytest.warns(UserWarning), pytest.raises(ConfigError, match=message):
        load_bundle(saved)
    assert not built


@pytest.mark.parametrize("text", [b'{"model": "fr",', b"\xff\xfe{}"], ids=["cut-json", "not-utf8"])
def test_a_bundle_json_that_is_not_json_is_one_error(saved, text):
    (_without_manifest(saved) / "bundle.json").write_bytes(text)
    with pytest.warns(UserWarning), pytest.raises(UnreadableFileError, match=r"bundle.json is not valid JSON"):
        load_bundle(saved)


def test_non_finite_weights_are_refused_even_with_a_matching_manifest(saved):
    weights = saved / "weights.safetensors"
    state = load_file(str(weights))
    first = next(key for key, value in state.items() if value.is_floating_point())
    state[first] = torch.full_like(state[first], float("nan"))
    save_file(state, str(weights))
    manifest = json.loads((saved / "manifest.json").read_text())
    manifest["files"]["weights.safetensors"] = file_record(weights)  # as a careless tool would
    (saved / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(UnreadableFileError, match=rf"the weights {first} hold NaN or infinite values"):
        load_bundle(saved)


def test_a_diverged_model_is_not_saved(tmp_path, trained):
    model, classes = trained
    diverged = dataclasses.replace(model, model=copy.deepcopy(model.model))
    with torch.no_grad():
        next(iter(diverged.model.parameters())).fill_(float("inf"))
    with pytest.raises(DataError, match=r"cannot be bundled: its weights .* NaN or infinite .*train.lr"):
        save_bundle(tmp_path / "b", diverged, classes=classes, dataset="toy", preprocessing={}, train_config={})
    assert not (tmp_path / "b" / "manifest.json").exists()


def test_predict_with_a_damaged_bundle_exits_2_with_one_line(saved, tmp_path, monkeypatch, capsys):
    (saved / "weights.safetensors").write_bytes(b"")
    monkeypatch.setattr(sys, "argv", ["microexp", "predict", str(tmp_path), "--model", str(saved), "--spot"])
    with pytest.raises(SystemExit) as stop:
        cli.main()
    error = capsys.readouterr().err.strip()
    assert stop.value.code == 2 and len(error.splitlines()) == 1
    assert "weights.safetensors is not the file the bundle was saved with" in error
