"""Run folders: every finished task saved as it ends, an interrupted run resumed, a different config refused."""

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from conftest import subprocess_env
from microexp.data.megc2019 import MEGC2019
from microexp.errors import ConfigError, DataError
from microexp.evaluation.report import TASKS_DIR, open_run, task_path
from microexp.evaluation.runner import cross_validate
from microexp.evaluation.study import evaluate, make_run_spec

CONFIG = {"dataset": "megc2019", "model": "linear", "train_config": {"epochs": 2, "lr": 0.001}, "seeds": [0, 1]}


class RecordingExecutor:
    """Runs tasks in this process and remembers which, to check what a resumed run redoes."""

    def __init__(self):
        self.ran = []

    def map(self, function, tasks, shared, on_epoch=None):
        for task in tasks:
            self.ran.append(task.name)
            yield task, function(task, *shared)


def test_a_rerun_reads_finished_tasks_and_runs_only_the_missing_ones(tiny_megc2019, tmp_path):
    table = MEGC2019(tiny_megc2019).load()
    first = cross_validate(table, "linear", seeds=[0, 1], run_dir=tmp_path)
    assert len(list((tmp_path / TASKS_DIR).rglob("*.csv"))) == 2 * len(table.subjects)
    missing = task_path(tmp_path, "linear", 1, table.subjects[2])
    missing.unlink()
    executor = RecordingExecutor()
    again = cross_validate(table, "linear", seeds=[0, 1], run_dir=tmp_path, executor=executor)
    assert executor.ran == [f"linear/seed1/{table.subjects[2]}"]
    pd.testing.assert_frame_equal(first, again)
    # Subjects that look like numbers (SAMM's "006") stay text when read back.
    assert again["subject"].map(type).eq(str).all() and "samm/006" in set(again["subject"])


def test_a_different_config_is_refused_naming_the_keys(tmp_path):
    open_run(tmp_path, CONFIG)
    open_run(tmp_path, CONFIG)  # the same config resumes
    changed = {**CONFIG, "train_config": {"epochs": 3, "lr": 0.001}, "seeds": [0]}
    with pytest.raises(ConfigError, match=r"seeds \(\[0, 1\] in the folder, \[0\] now\)") as error:
        open_run(tmp_path, changed)
    assert "train_config.epochs (2 in the folder, 3 now)" in str(error.value)
    assert "lr" not in str(error.value) and "new --out" in str(error.value) and "--overwrite" in str(error.value)
    finished = task_path(tmp_path, "linear", 0, "casme2/sub06")
    finished.parent.mkdir(parents=True)
    finished.write_text("stale")
    open_run(tmp_path, changed, overwrite=True)
    assert not (tmp_path / TASKS_DIR).exists()
    assert json.loads((tmp_path / "config.json").read_text())["seeds"] == [0]


def _evaluate_command(data_dir, out, *extra):
    return [
        sys.executable, "-m", "microexp", "evaluate", "--dataset", "megc2019", "--data-dir", str(data_dir),
        "--model", "ststnet", "--seeds", "0,1", "--workers", "1", "--set", "train.epochs=2", "--out", str(out), *extra,
    ]  # fmt: skip


def _evaluate(data_dir, out, *extra):
    return subprocess.run(
        _evaluate_command(data_dir, out, *extra), capture_output=True, text=True, env=subprocess_env()
    )


def test_sigkilled_evaluate_resumes_without_redoing_finished_tasks(tiny_megc2019, tmp_path):
    interrupted, straight = tmp_path / "interrupted", tmp_path / "straight"
    process = subprocess.Popen(
        _evaluate_command(tiny_megc2019, interrupted), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env=subprocess_env(),
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while not list((interrupted / TASKS_DIR).rglob("*.csv")) and process.poll() is None:
        assert time.monotonic() < deadline, "no task finished within 300 s"
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, process.stderr.read().decode()
    finished = {path: path.stat().st_mtime_ns for path in (interrupted / TASKS_DIR).rglob("*.csv")}
    assert 1 <= len(finished) < 12 and not (interrupted / "summary.json").exists()

    resumed = _evaluate(tiny_megc2019, interrupted)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(finished)} finished task(s) kept" in resumed.stdout
    assert {path: path.stat().st_mtime_ns for path in finished} == finished  # none redone
    assert len(list((interrupted / TASKS_DIR).rglob("*.csv"))) == 12

    uninterrupted = _evaluate(tiny_megc2019, straight)
    assert uninterrupted.returncode == 0, uninterrupted.stderr
    summaries = [json.loads((folder / "summary.json").read_text()) for folder in (interrupted, straight)]
    for summary in summaries:
        del summary["wall_seconds"]  # the only field that may differ
    assert summaries[0] == summaries[1]
    assert (interrupted / "predictions.csv").read_text() == (straight / "predictions.csv").read_text()
    print(f"killed after {len(finished)} of 12 tasks; the rerun kept them and ran the other {12 - len(finished)}")

    other = _evaluate(tiny_megc2019, interrupted, "--seeds", "0")
    assert other.returncode == 2 and "different config: seeds" in other.stderr


def test_a_rerun_after_the_data_changed_is_refused_not_mixed(tiny_megc2019, tmp_path):
    spec = make_run_spec(dataset="megc2019", data_dir=tiny_megc2019, model="linear")
    evaluate(spec, tmp_path / "run")
    sheet = tiny_megc2019 / "combined_3_class2_for_optical_flow.csv"
    lines = sheet.read_text().splitlines()
    fields = lines[1].split(",")
    fields[3] = str((int(fields[3]) + 1) % 3)  # one clip relabelled
    sheet.write_text("\n".join([lines[0], ",".join(fields), *lines[2:]]) + "\n")
    with pytest.raises(DataError, match=r"holds a run on other data: label of 1 clip\(s\) changed"):
        evaluate(spec, tmp_path / "run")
