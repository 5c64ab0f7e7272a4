"""The leaderboard: one training read honestly and with test-fold selection, the ensemble row, the table,
and a leaderboard run killed midway and resumed giving the same table."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from conftest import subprocess_env
from microexp.data.megc2019 import MEGC2019
from microexp.data.splitters import LeaveOneSubjectOut
from microexp.errors import ConfigError
from microexp.evaluation.experiment import experiment_from_dict
from microexp.evaluation.leaderboard import (
    EnsembleSpec,
    FinishedRun,
    LeaderboardSpec,
    leaderboard_frame,
    write_leaderboard,
)
from microexp.evaluation.report import PREDICTIONS_FILE, TASKS_DIR, curve_path, read_epoch_curve, read_predictions
from microexp.evaluation.runner import Task, run_task, run_task_watching_epochs, summarise
from microexp.evaluation.selection import fold_positions, readings, seed_curves
from microexp.evaluation.study import evaluate, make_run_spec
from microexp.inputs import build_inputs
from microexp.models import get_model_info
from microexp.training.config import TrainConfig

TINY_TRAINING = {"epochs": 3, "batch_size": 8}


def _finished_run(data_dir, model, run_dir):
    spec = make_run_spec(dataset="megc2019", data_dir=data_dir, model=model, seeds=[0, 1], train=TINY_TRAINING)
    summary, _ = evaluate(spec, run_dir, epoch_curves=True)
    return FinishedRun(run_dir, model, {}, summary), read_predictions(run_dir / PREDICTIONS_FILE)


def test_the_curves_last_epoch_is_the_run_s_own_prediction(tiny_megc2019, tmp_path):
    run, predictions = _finished_run(tiny_megc2019, "ststnet", tmp_path)
    probabilities = [c for c in predictions.columns if c.startswith("p_")]
    for seed, rows in predictions.groupby("seed"):
        curves, seconds = seed_curves(tmp_path, "ststnet", rows)
        assert curves.shape == (3, len(rows), 3) and seconds > 0
        np.testing.assert_allclose(curves[-1], rows[probabilities].to_numpy(), rtol=0, atol=5e-7)  # csv: 6 places
        read = readings(curves, rows["label"].to_numpy(), fold_positions(rows))
        assert read["fixed schedule"]["uf1"] == pytest.approx(run.summary["per_seed"][seed]["all"]["uf1"])
        # the best pooled epoch is chosen among all of them, the last included: never below the honest one
        assert read["best epoch overall"]["uf1"] >= read["fixed schedule"]["uf1"]
    fold = predictions["fold"].iloc[0]
    curve, clip_ids, _ = read_epoch_curve(curve_path(tmp_path, "ststnet", 0, fold))
    assert list(clip_ids) == list(predictions.query("seed == 0 and fold == @fold")["clip_id"])


def test_table_has_bias_columns_for_epoch_models_only_and_an_ensemble_of_the_members_probabilities(
    tiny_megc2019, tmp_path
):
    table = MEGC2019(tiny_megc2019).load()
    linear, linear_predictions = _finished_run(tiny_megc2019, "linear", tmp_path / "linear")
    ststnet, ststnet_predictions = _finished_run(tiny_megc2019, "ststnet", tmp_path / "ststnet")
    spec = LeaderboardSpec(EnsembleSpec("both", ("linear", "ststnet")))
    frame = leaderboard_frame([linear, ststnet], spec).set_index("entry")

    assert np.isnan(frame.loc["linear", "best_epoch_all_folds_uf1_mean"])
    assert not np.isnan(frame.loc["ststnet", "best_epoch_per_subject_uf1_mean"])
    assert frame.loc["ststnet", "published_uf1"] == 0.7353 and "STSTNet" in frame.loc["ststnet", "published_source"]
    assert frame.loc["ststnet", "parameters"] == 1683 and np.isnan(frame.loc["linear", "parameters"])
    # the ensemble by hand: each seed's mean probabilities, clips matched by id, then pooled UF1 over seeds
    columns = [c for c in linear_predictions.columns if c.startswith("p_")]
    merged = linear_predictions.merge(ststnet_predictions, on=["seed", "clip_id"], suffixes=("_a", "_b"))
    mean = (merged[[f"{c}_a" for c in columns]].to_numpy() + merged[[f"{c}_b" for c in columns]].to_numpy()) / 2
    by_hand = merged.assign(
        prediction=mean.argmax(axis=1), label=merged["label_a"], part=merged["part_a"], fold=merged["fold_a"]
    )
    expected = summarise(by_hand, table, model="both", wall_seconds=0.0)
    assert frame.loc["both", "uf1_mean"] == pytest.approx(expected["uf1"]["mean"])
    assert frame.loc["both", "samm_uar"] == pytest.approx(expected["parts"]["samm"]["uar"]["mean"])
    assert frame.loc["both", "train_seconds"] == pytest.approx(
        frame.loc["linear", "train_seconds"] + frame.loc["ststnet", "train_seconds"]
    )

    markdown, csv = write_leaderboard(tmp_path, frame.reset_index(), "tiny")
    text = markdown.read_text()
    assert "BIAS: UF1, best epoch per subject" in text and "BIAS columns are not results" in text
    linear_line = next(line for line in text.splitlines() if line.startswith("| linear |"))
    assert linear_line.count("| – |") == 2  # no epochs, no selected readings
    assert "1. microexp's own measurement" in text and "Liong, See, Wong, Phan" in text
    assert len(pd.read_csv(csv)) == 3


@pytest.mark.parametrize(
    ("ensemble", "message"),
    [
        ({"name": "e", "members": ["linear", "fr"]}, r"two or more distinct models of the experiment"),
        ({"name": "linear", "members": ["linear", "ststnet"]}, r"'linear' is a model of the experiment"),
        ({"name": "e", "members": "linear"}, r"expected a list of model names"),
        ({"name": "e", "member": ["linear"]}, r"unknown key\(s\) \['member'\]"),
    ],
)
def test_a_leaderboard_the_runs_cannot_make_is_refused_before_any_run(ensemble, message):
    values = {
        "name": "l",
        "datasets": {"megc2019": {"data_dir": "x"}},
        "models": {"linear": {}, "ststnet": {}},
        "leaderboard": {"ensemble": ensemble},
    }
    with pytest.raises(ConfigError, match=message):
        experiment_from_dict(values)


def _run_command(experiment, out):
    return [sys.executable, "-m", "microexp", "run", str(experiment), "--out", str(out)]


def test_a_killed_leaderboard_run_resumed_gives_the_same_table(tiny_megc2019, tmp_path):
    experiment = tmp_path / "board.yaml"
    experiment.write_text(
        f"name: board\nseeds: [0, 1]\nworkers: 1\ndatasets:\n  megc2019:\n    data_dir: {tiny_megc2019}\n"
        "models:\n  linear: {}\n  ststnet:\n    training: {epochs: 2, batch_size: 8}\n"
        "leaderboard:\n  ensemble: {name: both, members: [linear, ststnet]}\n"
    )
    interrupted, straight = tmp_path / "interrupted", tmp_path / "straight"
    process = subprocess.Popen(
        _run_command(experiment, interrupted), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=subprocess_env()
    )
    ststnet_tasks = interrupted / "megc2019" / "ststnet" / TASKS_DIR
    deadline = time.monotonic() + 300
    while not list(ststnet_tasks.rglob("*.csv")) and process.poll() is None:
        assert time.monotonic() < deadline, "no ststnet task finished within 300 s"
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, process.stderr.read().decode()
    finished = list(ststnet_tasks.rglob("*.csv"))  # a task's curve is written before its predictions
    kept = {path: path.stat().st_mtime_ns for csv in finished for path in (csv, csv.with_suffix(".epochs.npz"))}
    assert 1 <= len(finished) < 12 and not (interrupted / "leaderboard.csv").exists()

    for out in (interrupted, straight):
        result = subprocess.run(_run_command(experiment, out), capture_output=True, text=True, env=subprocess_env())
        assert result.returncode == 0, result.stderr
    assert {path: path.stat().st_mtime_ns for path in kept} == kept  # finished tasks were not redone
    assert len(list(ststnet_tasks.rglob("*.epochs.npz"))) == 12
    tables = [pd.read_csv(out / "leaderboard.csv").drop(columns="train_seconds") for out in (interrupted, straight)]
    pd.testing.assert_frame_equal(*tables)
    assert (interrupted / "leaderboard.png").stat().st_size > 10_000


def test_a_finished_run_without_curves_trains_again_to_the_same_predictions(tiny_megc2019, tmp_path):
    spec = make_run_spec(dataset="megc2019", data_dir=tiny_megc2019, model="linear", seeds=[0])
    evaluate(spec, tmp_path)
    before = (tmp_path / PREDICTIONS_FILE).read_text()
    assert not list(tmp_path.rglob("*.epochs.npz"))
    _, complete = evaluate(spec, tmp_path, epoch_curves=True)
    assert not complete and len(list(tmp_path.rglob("*.epochs.npz"))) == 6
    assert (tmp_path / PREDICTIONS_FILE).read_text() == before
    _, complete = evaluate(spec, tmp_path, epoch_curves=True)
    assert complete


@pytest.mark.parametrize("model", ["fr", "ststnet"])
def test_watching_the_epochs_leaves_the_training_as_it_is(tiny_megc2019, model):
    table = build_inputs(MEGC2019(tiny_megc2019).load(), get_model_info(model).inputs)
    fold = next(iter(LeaveOneSubjectOut().split(table)))
    task = Task(model, 0, fold, TrainConfig.from_dict({**get_model_info(model).training, **TINY_TRAINING}))
    watched = run_task_watching_epochs(task, table)
    pd.testing.assert_frame_equal(watched.predictions, run_task(task, table))  # to the last digit
    assert watched.curve.shape == (3, len(fold.test), 3)
