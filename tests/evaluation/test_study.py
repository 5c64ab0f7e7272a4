"""Run specs: validated whole before anything is written; several tables with roles; training stages."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import microexp.evaluation.runner as runner
from conftest import write_tiny_megc2019
from microexp.errors import ConfigError
from microexp.evaluation.study import RunSpec, StageSpec, TableSpec, evaluate, make_run_spec

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
from copies import CK48_TEN, write_ckplus48  # noqa: E402

FAST = {"epochs": 2, "batch_size": 8}


@pytest.fixture
def tables(tmp_path):
    micro = write_tiny_megc2019(tmp_path / "megc2019", apex_faces=True)
    macro = write_ckplus48(tmp_path / "ckplus48", CK48_TEN)
    return micro, TableSpec("ckplus48", macro, "megc3", role="train")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"overrides": ["model.dropuot=0.1"]}, r"no option\(s\) \['dropuot'\]"),
        ({"overrides": ["train.epochs=abc"]}, "expected int"),
        ({"overrides": ["inputs.norm=loud"]}, "norm='loud' is unknown"),
        ({"overrides": ["splitter=leave-one-out"]}, "leave-one-out"),
        ({"overrides": ["splitter.n_folds=3"]}, "n_folds"),
        ({"model": "nope"}, "unknown model 'nope'"),
        ({"overrides": ["inputs.flow_method=dis"]}, "ships its flow inputs already made: inputs.flow_method"),
    ],
)
def test_a_bad_spec_is_refused_before_the_run_folder_exists(tmp_path, tiny_megc2019, changes, message):
    arguments = {"dataset": "megc2019", "data_dir": tiny_megc2019, "model": "ststnet", **changes}
    with pytest.raises(ConfigError, match=message):
        evaluate(make_run_spec(**arguments), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_spec_survives_its_record(tables):
    micro, macro = tables
    spec = make_run_spec(
        dataset="megc2019",
        data_dir=micro,
        model="deep_emotion",
        seeds=[0, 1],
        overrides=["train.epochs=3", "inputs.still_faces=detect", "splitter=subject-kfold", "splitter.n_splits=3"],
        extra_tables=[macro],
        stages=[StageSpec(("ckplus48",), {"epochs": 1})],
    )
    assert RunSpec.from_record(spec.record()) == spec


def test_a_training_only_table_trains_in_every_fold_and_is_never_scored(tables, tmp_path, monkeypatch):
    micro, macro = tables
    seen = []
    real = runner.train_model

    def recording(name, train, **kwargs):
        seen.append(sorted(set(train.domains)))
        return real(name, train, **kwargs)

    monkeypatch.setattr(runner, "train_model", recording)
    spec = make_run_spec(
        dataset="megc2019", data_dir=micro, model="deep_emotion", train=FAST, extra_tables=[macro]
    )
    summary, _ = evaluate(spec, tmp_path / "run", cache_dir=tmp_path / "cache")
    predictions = pd.read_csv(tmp_path / "run" / "predictions.csv")
    assert summary["n_folds"] == 6 and len(predictions) == 36  # the composite's subjects and clips only
    assert not predictions["clip_id"].str.startswith("ckplus48").any()
    assert seen == [["ckplus48", "megc2019"]] * 6  # macro data in every fold's training


def test_stages_pretrain_on_one_table_then_finetune_on_another(tables, tmp_path, monkeypatch):
    micro, macro = tables
    seen = []
    real = runner.train_model

    def recording(name, train, **kwargs):
        seen.append((sorted(set(train.domains)), kwargs["config"].epochs, kwargs["initial"] is not None))
        return real(name, train, **kwargs)

    monkeypatch.setattr(runner, "train_model", recording)
    stages = [StageSpec(("ckplus48",), {"epochs": 3}), StageSpec(("megc2019",))]
    staged = make_run_spec(
        dataset="megc2019", data_dir=micro, model="deep_emotion", train=FAST, extra_tables=[macro], stages=stages
    )
    evaluate(staged, tmp_path / "staged", cache_dir=tmp_path / "cache")
    assert seen == [(["ckplus48"], 3, False), (["megc2019"], 2, True)] * 6
    alone = make_run_spec(dataset="megc2019", data_dir=micro, model="deep_emotion", train=FAST)
    evaluate(alone, tmp_path / "alone", cache_dir=tmp_path / "cache")
    with_macro = pd.read_csv(tmp_path / "staged" / "predictions.csv").filter(regex="^p_").to_numpy()
    without = pd.read_csv(tmp_path / "alone" / "predictions.csv").filter(regex="^p_").to_numpy()
    assert not np.allclose(with_macro, without)  # the pre-training changed the fine-tuned model


def test_a_stage_must_name_a_table_of_the_study(tiny_megc2019):
    with pytest.raises(ConfigError, match="stage domains"):
        make_run_spec(dataset="megc2019", data_dir=tiny_megc2019, model="ststnet", stages=[StageSpec(("ck",))])
