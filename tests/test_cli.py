"""The command line: real subprocesses, so exit codes and stderr are what a user sees."""

import json
import subprocess
import sys

from conftest import shared_path, subprocess_env


def run_cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "microexp", *args], capture_output=True, text=True, cwd=cwd, env=subprocess_env()
    )


def test_score_prints_the_golden_figures_as_json():
    result = run_cli("score", str(shared_path("megc2019", "ststnet_matlab_log.txt")), "--json")
    assert result.returncode == 0, result.stderr
    scores = json.loads(result.stdout)
    assert round(scores["all"]["uf1"], 4) == 0.7353 and round(scores["all"]["uar"], 4) == 0.7186


def test_evaluate_writes_a_complete_run_folder(tiny_megc2019, tmp_path):
    out = tmp_path / "run"
    result = run_cli(
        "evaluate",
        "--dataset",
        "megc2019",
        "--data-dir",
        str(tiny_megc2019),
        "--model",
        "ststnet",
        "--seeds",
        "0,1",
        "--out",
        str(out),
        "--workers",
        "1",
        "--set",
        "train.epochs=2",
    )
    assert result.returncode == 0, result.stderr
    assert "UF1" in result.stdout and "casme2" in result.stdout
    summary = json.loads((out / "summary.json").read_text())
    for key in ("dataset", "model", "seeds", "n_clips", "n_folds", "wall_seconds", "uf1", "uar", "accuracy", "parts"):
        assert key in summary
    assert set(summary["parts"]) == {"smic", "casme2", "samm"} and summary["n_folds"] == 6
    assert (out / "megc_seed0.txt").is_file() and (out / "megc_seed1.txt").is_file()
    config = json.loads((out / "config.json").read_text())
    assert config["train_config"]["epochs"] == 2 and config["seeds"] == [0, 1]
    header = (out / "predictions.csv").read_text().splitlines()[0].split(",")
    assert header[:7] == ["seed", "fold", "subject", "clip_id", "part", "label", "prediction"]
    again = run_cli("score", str(out / "megc_seed0.txt"), "--json")
    assert again.returncode == 0
    assert json.loads(again.stdout)["all"]["uf1"] == summary["per_seed"]["0"]["all"]["uf1"]


def test_bad_input_is_one_line_and_exit_code_2(tmp_path):
    result = run_cli(
        "evaluate",
        "--dataset",
        "megc2019",
        "--data-dir",
        str(tmp_path / "missing"),
        "--model",
        "ststnet",
        "--out",
        str(tmp_path / "r"),
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "error:" in result.stderr and "missing" in result.stderr
    unknown = run_cli(
        "evaluate",
        "--dataset",
        "megc2019",
        "--data-dir",
        str(tmp_path),
        "--model",
        "nope",
        "--out",
        str(tmp_path / "r"),
    )
    assert unknown.returncode == 2 and "unknown model 'nope'" in unknown.stderr


def test_models_lists_declared_inputs():
    result = run_cli("models")
    assert result.returncode == 0 and "flow 3x28x28" in result.stdout


def test_flow_of_a_database_crop_takes_the_frame_whole_with_face_geometry_as_cropped(tmp_path):
    """A face crop too tight for the detector (a textured patch here): detect stops with one line naming
    the frame; as-cropped resizes the frames whole and computes the flow."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    texture = rng.integers(0, 255, (120, 100), dtype=np.uint8)
    Image.fromarray(texture).save(tmp_path / "onset.png")
    Image.fromarray(np.roll(texture, 1, axis=1)).save(tmp_path / "apex.png")
    pair = (str(tmp_path / "onset.png"), str(tmp_path / "apex.png"))
    detect = run_cli("flow", *pair, "--out", str(tmp_path / "detect.png"))
    assert detect.returncode == 2 and "onset.png: the dlib backend found no face" in detect.stderr
    assert len(detect.stderr.strip().splitlines()) == 1
    cropped = run_cli("flow", *pair, "--out", str(tmp_path / "flow.png"), "--face-geometry", "as-cropped")
    assert cropped.returncode == 0, cropped.stderr
    assert np.asarray(Image.open(tmp_path / "flow.png")).shape == (28, 28, 3)
