"""FDP end to end from the command line: train a bundle on frames, picture its dynamic images, predict a video."""

import json

import pytest

from microexp.data.synthetic_render import CLASSES, SyntheticSettings, example_clip
from microexp.data.synthetic_write import write_database
from microexp.preprocess.video import write_video
from test_cli import run_cli

TINY = SyntheticSettings(subjects=2, clips_per_class=1, fps=100)


@pytest.fixture(scope="module")
def fdp_bundle(tmp_path_factory):
    root = tmp_path_factory.mktemp("fdp")
    database = write_database(root / "database", TINY)
    result = run_cli(
        "train", "--dataset", "synthetic", "--data-dir", str(database), "--model", "fdp", "--out", str(root / "bundle"),
        "--cache-dir", str(root / "cache"), "--set", "train.epochs=1",
    )
    assert result.returncode == 0, result.stderr
    return root, database


def test_a_picture_of_clips_dynamic_images_and_the_bundles_rebuild(fdp_bundle):
    root, database = fdp_bundle
    clips = sorted((database / "CASME2_RAW_selected" / "sub01").iterdir())[:2]
    out = root / "dynamic.png"
    result = run_cli("dynamic-image", *map(str, clips), "--out", str(out), "--model", str(root / "bundle"))
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout and out.stat().st_size > 10_000
    from PIL import Image

    width, height = Image.open(out).size
    assert width > height  # three panels a row, two rows


def test_predict_runs_an_fdp_bundle_on_a_video(fdp_bundle, tmp_path):
    root, _ = fdp_bundle
    clip = example_clip(CLASSES[1], TINY)
    video = write_video(tmp_path / "clip.mp4", clip.frames, TINY.fps)
    result = run_cli("predict", str(video), "--model", str(root / "bundle"), "--onset", str(clip.onset),
                     "--apex", str(clip.apex), "--json")
    assert result.returncode == 0, result.stderr
    prediction = json.loads(result.stdout)
    assert prediction["label"] in CLASSES and abs(sum(prediction["probabilities"].values()) - 1) < 1e-5


def test_bad_requests_are_one_line_errors(fdp_bundle, tmp_path):
    root, database = fdp_bundle
    clip = sorted((database / "CASME2_RAW_selected" / "sub01").iterdir())[0]
    missing = run_cli("dynamic-image", str(tmp_path / "nope"), "--out", str(tmp_path / "x.png"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr and "Traceback" not in missing.stderr
    two = run_cli("dynamic-image", str(clip), str(clip), "--onset", "1", "--out", str(tmp_path / "x.png"))
    assert two.returncode == 2 and "apply to one clip" in two.stderr
    outside = run_cli("dynamic-image", str(clip), "--offset", "99999", "--out", str(tmp_path / "x.png"))
    assert outside.returncode == 2 and "offset frame 99999 is not in the clip" in outside.stderr
