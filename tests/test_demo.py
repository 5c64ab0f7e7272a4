"""The demo path on synthetic micro-expressions: the control that the pipeline reads facial motion, a
bundle predicting new videos, and the ``demo`` command end to end (slow tier)."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from microexp.data.registry import load_table
from microexp.data.synthetic_render import CLASSES, SyntheticSettings, example_clip
from microexp.data.synthetic_write import write_database
from microexp.evaluation.runner import cross_validate, summarise
from microexp.evaluation.study import make_run_spec, train_bundle
from microexp.inputs import build_inputs
from microexp.models.registry import get_model_info
from microexp.preprocess.video import write_video
from microexp.training.bundle import load_bundle
from microexp.training.predict import predict_clip, read_clip

# Smaller than the demo's database (6 subjects, 100 fps) so the default test run stays fast.
SMALL = SyntheticSettings(subjects=6, clips_per_class=2, fps=100)


def run_cli(*args):
    # this checkout's package, whichever one the environment has installed
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    return subprocess.run([sys.executable, "-m", "microexp", *args], capture_output=True, text=True, env=env)


def flow_table(root, settings):
    database = write_database(root / "database", settings)
    return build_inputs(load_table("synthetic", database), get_model_info("linear").inputs, cache_dir=root / "cache")


def loso_uf1(table) -> float:
    # 2 inner folds to choose C (instead of 5): the control is about the inputs, and it keeps the test fast
    predictions = cross_validate(table, "linear", workers=1, model_options={"inner_folds": 2})
    return summarise(predictions, table, model="linear", wall_seconds=0)["uf1"]["mean"]


@pytest.fixture(scope="module")
def expressive_root(tmp_path_factory):
    return tmp_path_factory.mktemp("expressive")


@pytest.fixture(scope="module")
def expressive(expressive_root):
    return flow_table(expressive_root, SMALL)


@pytest.fixture(scope="module")
def bundle_dir(expressive, expressive_root, tmp_path_factory):
    # the inputs are cached by `expressive`: training reads them back
    spec = make_run_spec(dataset="synthetic", data_dir=expressive_root / "database", model="linear")
    path, _ = train_bundle(spec, tmp_path_factory.mktemp("bundle") / "bundle", cache_dir=expressive_root / "cache")
    return path


def test_at_the_default_amplitude_the_linear_model_reads_the_expressions(expressive):
    assert loso_uf1(expressive) >= 0.90


def test_without_expression_motion_the_classes_are_indistinguishable(tmp_path):
    # same subjects, timings and nuisances (head motion, blinks, flicker, noise): only the faces stay still
    still = flow_table(tmp_path, dataclasses.replace(SMALL, amplitude=0.0))
    assert loso_uf1(still) <= 0.45


@pytest.mark.parametrize("expression", CLASSES)
def test_a_new_subjects_video_gets_its_generated_label(expression, bundle_dir, tmp_path):
    clip = example_clip(expression, SMALL)
    video = write_video(tmp_path / "clip.mp4", clip.frames, SMALL.fps)
    frames, numbers = read_clip(video)
    prediction = predict_clip(load_bundle(bundle_dir), frames, numbers, str(video), onset=clip.onset, apex=clip.apex)
    assert prediction.label == expression
    assert (prediction.onset, prediction.apex) == (clip.onset, clip.apex)


def test_predict_command_prints_json_and_writes_an_overlay(bundle_dir, tmp_path):
    clip = example_clip("surprise", SMALL)
    video = write_video(tmp_path / "clip.mp4", clip.frames, SMALL.fps)
    overlay = tmp_path / "overlay.mp4"
    phases = ("--onset", str(clip.onset), "--apex", str(clip.apex))
    result = run_cli("predict", str(video), "--model", str(bundle_dir), *phases, "--json", "--overlay", str(overlay))
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["label"] == "surprise" and output["apex_method"] == "given"
    x0, y0, x1, y1 = output["face_box"]
    assert 0 <= x0 < x1 <= clip.frames.shape[2] and 0 <= y0 < y1 <= clip.frames.shape[1]
    assert sum(output["probabilities"].values()) == pytest.approx(1.0)
    assert len(read_clip(overlay)[0]) == len(clip.frames)


def test_spotting_finds_the_apex_of_a_clip_without_nuisances(bundle_dir):
    # head drift and blinks can outgrow the expression (spotting then picks them, as on real clips), so
    # the spotter is checked where the expression is the only motion
    still = dataclasses.replace(SMALL, head_motion=0.0, blink_probability=0.0)
    clip = example_clip("positive", still)
    numbers = list(range(len(clip.frames)))
    prediction = predict_clip(load_bundle(bundle_dir), clip.frames, numbers, "clip", spot=True)
    assert abs(prediction.apex - clip.apex) <= 2 and prediction.label == "positive"


def test_predict_on_a_video_without_a_face_names_the_video(bundle_dir, tmp_path):
    noise = np.random.default_rng(0).integers(0, 255, (12, 160, 160), dtype=np.uint8)
    video = write_video(tmp_path / "wall.mp4", noise, 30)
    result = run_cli("predict", str(video), "--model", str(bundle_dir), "--onset", "0", "--apex", "5")
    assert result.returncode == 2
    assert "no face" in result.stderr and "wall.mp4" in result.stderr and "Traceback" not in result.stderr


def test_predict_needs_an_apex_or_spotting(bundle_dir, tmp_path):
    video = write_video(tmp_path / "clip.mp4", example_clip("positive", SMALL).frames, SMALL.fps)
    result = run_cli("predict", str(video), "--model", str(bundle_dir), "--onset", "0")
    assert result.returncode == 2 and "--spot" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize(("amplitude", "check"), [(None, lambda uf1: uf1 >= 0.90), (0.0, lambda uf1: uf1 <= 0.45)])
def test_demo_command_end_to_end(amplitude, check, tmp_path):
    out = tmp_path / "demo"
    extra = [] if amplitude is None else ["--amplitude", str(amplitude)]
    result = run_cli("demo", "--out", str(out), *extra)
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "loso" / "summary.json").read_text())
    assert summary["n_folds"] == 8 and summary["n_clips"] == 48 and check(summary["uf1"]["mean"])
    assert "UF1" in result.stdout and "prediction for" in result.stdout
    for name in ("loso/confusion.png", "loso/report.md", "bundle/bundle.json", "example.mp4", "example_overlay.mp4"):
        assert (out / name).is_file(), name
    if amplitude is None:
        assert "negative (true: negative)" in result.stdout  # seed 0's example clip is a negative one
