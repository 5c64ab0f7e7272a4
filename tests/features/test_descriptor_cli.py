"""The descriptors from the command line on a database with frames: evaluate with an SVM and with the linear
model, train a Li et al. bundle and predict a clip folder with it."""

import json
import subprocess
import sys

import pytest

from conftest import subprocess_env
from microexp.data.synthetic_render import SyntheticSettings
from microexp.data.synthetic_write import write_database

TINY = SyntheticSettings(subjects=3, clips_per_class=1, fps=100)
# a quarter of the pixels and the fastest flow: the path is tested here, not the accuracy
SMALL_CROP = ("--set", "inputs.crop_size=64", "--set", "inputs.flow_method=farneback")


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "microexp", *args], capture_output=True, text=True, env=subprocess_env()
    )


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    return write_database(tmp_path_factory.mktemp("synthetic") / "database", TINY)


@pytest.mark.parametrize("model", ["lbp_top_svm", pytest.param("hoof_linear", marks=pytest.mark.slow)])
def test_evaluate_a_descriptor_model(database, tmp_path, model):
    out = tmp_path / "run"
    common = ("--dataset", "synthetic", "--data-dir", str(database), "--workers", "1", "--cache-dir")
    result = run_cli("evaluate", *common, str(tmp_path / "cache"), "--model", model, "--out", str(out), *SMALL_CROP)
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"] == model and summary["n_clips"] == 9 and summary["n_folds"] == 3


def test_train_li_regions_and_predict_a_clip(database, tmp_path):
    bundle = tmp_path / "bundle"
    result = run_cli(
        "train", "--dataset", "synthetic", "--data-dir", str(database), "--model", "li_regions", "--out",
        str(bundle), "--cache-dir", str(tmp_path / "cache"), *SMALL_CROP,
    )
    assert result.returncode == 0, result.stderr
    clip = next(p for p in sorted(database.rglob("*")) if p.is_dir() and any(p.glob("img*.jpg")))
    numbers = sorted(int(p.stem[3:]) for p in clip.glob("img*.jpg"))
    result = run_cli("predict", str(clip), "--model", str(bundle), "--onset", str(numbers[0]), "--apex",
                     str(numbers[len(numbers) // 2]), "--json")
    assert result.returncode == 0, result.stderr
    prediction = json.loads(result.stdout)
    assert abs(sum(prediction["probabilities"].values()) - 1) < 1e-6, prediction
