"""`microexp spot-evaluate` on generated long videos: the MEGC protocol's figures and files."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from conftest import subprocess_env
from microexp.data.synthetic_long import LongVideoSettings, write_long_videos


def run_cli(*args):
    command = [sys.executable, "-m", "microexp", *args]
    return subprocess.run(command, capture_output=True, text=True, env=subprocess_env())


@pytest.fixture(scope="module")
def long_videos(tmp_path_factory):
    settings = LongVideoSettings(videos=1, seconds=9, fps=100, micro_expressions=3, head_turns=1,
                                 macro_expressions=0, face_absences=1, blinks_per_minute=10, seed=5)
    return write_long_videos(tmp_path_factory.mktemp("long"), settings)


def test_scores_spotting_and_writes_every_interval(long_videos, tmp_path):
    out = tmp_path / "spot"
    result = run_cli("spot-evaluate", "--dataset", "synthetic-long", "--data-dir", str(long_videos), "--out", str(out))
    assert result.returncode == 0, result.stderr
    scores = json.loads((out / "scores.json").read_text())
    assert scores["tp"] + scores["fn"] == 3  # every true interval is counted, hit or missed
    assert scores["tp"] >= 2, scores
    assert f"F1 {scores['f1']:.3f}" in result.stdout.replace("\n", " ")
    rows = list(csv.DictReader((out / "intervals.csv").open()))
    assert sum(r["kind"] == "spotted" for r in rows) == scores["tp"] + scores["fp"]
    assert sum(r["kind"] == "missed" for r in rows) == scores["fn"]
    # no interval on a frame where the face was out of view
    absent = json.loads((long_videos / "synthetic_long.json").read_text())["videos"]["001_1"]["face_absent"]
    for row in rows:
        if row["kind"] == "spotted":
            assert all(int(row["offset"]) < first or int(row["onset"]) > last for first, last in absent), row


def test_a_database_of_short_clips_is_refused_in_one_line(tmp_path):
    result = run_cli("spot-evaluate", "--dataset", "casme2", "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert "not a long-video database" in result.stderr and "sammlong" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_spotter_option_is_refused_with_the_valid_names(long_videos):
    result = run_cli("spot-evaluate", "--dataset", "synthetic-long", "--data-dir", str(long_videos),
                     "--spotter", "threshold=0.2")
    assert result.returncode == 2
    assert "min_score" in result.stderr and "Traceback" not in result.stderr
