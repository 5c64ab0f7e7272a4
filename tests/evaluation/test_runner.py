import json

import numpy as np
import pandas as pd
import pytest

from microexp.data.megc2019 import MEGC2019
from microexp.data.schema import SampleTable
from microexp.data.splitters import LeaveOneSubjectOut
from microexp.evaluation.runner import Task, cross_validate, run_task, summarise
from microexp.inputs import build_inputs
from microexp.models import get_model_info
from microexp.training.config import TrainConfig

FAST = TrainConfig(epochs=3, batch_size=16, lr=1e-3)


@pytest.mark.parametrize("model", ["ststnet", "linear"])
def test_test_subject_labels_never_reach_the_model(tiny_megc2019, model):
    table = build_inputs(MEGC2019(tiny_megc2019).load(), get_model_info(model).inputs)
    fold = next(iter(LeaveOneSubjectOut().split(table)))
    task = Task(model, 0, fold, FAST)
    reference = run_task(task, table)
    shuffled = table.samples.copy()
    rng = np.random.default_rng(0)
    test_labels = shuffled.loc[fold.test, "label"].to_numpy()
    shuffled.loc[fold.test, "label"] = (test_labels + rng.integers(1, 3, size=len(test_labels))) % 3
    again = run_task(task, SampleTable(table.name, table.classes, shuffled))
    assert (again["label"].to_numpy() != reference["label"].to_numpy()).any()  # the labels did change
    pd.testing.assert_frame_equal(again.drop(columns="label"), reference.drop(columns="label"))


def test_same_seed_same_predictions_different_seed_differs(tiny_megc2019):
    table = MEGC2019(tiny_megc2019).load()
    first = cross_validate(table, "ststnet", seeds=[3], config=FAST)
    second = cross_validate(table, "ststnet", seeds=[3], config=FAST)
    pd.testing.assert_frame_equal(first, second)
    other = cross_validate(table, "ststnet", seeds=[4], config=FAST)
    assert not np.allclose(first.filter(regex="^p_").to_numpy(), other.filter(regex="^p_").to_numpy())


def test_summary_pools_predictions_per_seed(tiny_megc2019):
    table = MEGC2019(tiny_megc2019).load()
    predictions = cross_validate(table, "ststnet", seeds=[0, 1], config=FAST)
    assert len(predictions) == 2 * len(table)
    assert (
        predictions.groupby("seed")["clip_id"].apply(list).map(lambda c: c == table.samples["clip_id"].tolist()).all()
    )
    summary = summarise(predictions, table, model="ststnet", wall_seconds=1.0)
    assert summary["n_folds"] == 6 and summary["seeds"] == [0, 1]
    assert set(summary["parts"]) == {"casme2", "samm", "smic"}
    per_seed = [summary["per_seed"][s]["all"]["uf1"] for s in (0, 1)]
    assert summary["uf1"]["mean"] == pytest.approx(np.mean(per_seed))
    json.dumps(summary)  # serialisable as written to summary.json


def test_parallel_workers_give_the_same_predictions(tiny_megc2019):
    table = MEGC2019(tiny_megc2019).load()
    serial = cross_validate(table, "ststnet", seeds=[0], config=FAST)
    parallel = cross_validate(table, "ststnet", seeds=[0], config=FAST, workers=2)
    pd.testing.assert_frame_equal(serial, parallel)


def test_early_stopping_only_sees_training_subjects(tiny_megc2019):
    table = MEGC2019(tiny_megc2019).load()
    config = FAST.replace(epochs=20, early_stopping_patience=2)
    predictions = cross_validate(table, "ststnet", seeds=[0], config=config)
    assert len(predictions) == len(table)
