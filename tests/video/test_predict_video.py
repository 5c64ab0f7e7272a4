"""``predict`` on a video: the face is found wherever it first appears, a spotted apex always has a face, and a
scikit-learn bundle predicts without importing torch or any other model."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from face_videos import expression_video, face_frames, linear_bundle, write_frames

from conftest import subprocess_env
from microexp.errors import NoFaceError
from microexp.models.zoo import MODEL_MODULES
from microexp.training.bundle import load_bundle
from microexp.video.clip import predict_video
from microexp.video.track import DETECTION_RATE


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return load_bundle(linear_bundle(tmp_path_factory.mktemp("bundle") / "linear"))


def test_a_face_that_enters_late_is_found_where_it_appears(bundle, tmp_path):
    present = [False] * 12 + [True] * 30
    video = write_frames(tmp_path / "enters.mp4", expression_video(present, "surprise", 20, 28, 36), fps=100)
    prediction = predict_video(bundle, video, spot=True)
    # found at the first detection attempt after it appears: 40 attempts a second while there is no face
    assert 12 <= prediction.onset < 12 + round(100 / DETECTION_RATE)
    assert abs(prediction.apex - 28) <= 3 and prediction.apex_method.startswith("flow-magnitude")


def test_a_spotted_apex_is_never_after_the_face_has_left(bundle, tmp_path):
    # the largest change from the onset is the face's leaving; it must not become the apex
    present = [True] * 25 + [False] * 20
    video = write_frames(tmp_path / "leaves.mp4", expression_video(present, "positive", 4, 12, 20), fps=100)
    prediction = predict_video(bundle, video, spot=True)
    assert prediction.onset == 0 and prediction.apex < 25


def test_an_apex_given_where_the_face_has_gone_is_refused(bundle, tmp_path):
    video = write_frames(tmp_path / "leaves.mp4", face_frames([True] * 10 + [False] * 10), fps=30)
    with pytest.raises(NoFaceError, match=r"leaves.mp4: the face is lost between onset 0 and apex 15 \(frames 0–9"):
        predict_video(bundle, video, onset=0, apex=15)


def test_an_onset_without_a_face_says_where_the_face_is(bundle, tmp_path):
    video = write_frames(tmp_path / "enters.mp4", face_frames([False] * 8 + [True] * 8), fps=30)
    with pytest.raises(NoFaceError, match="no face was found on the onset frame 2; the face first appears on frame"):
        predict_video(bundle, video, onset=2, apex=12)


def test_a_linear_bundle_predicts_without_torch_scikit_learn_pandas_or_other_models(tmp_path):
    """One clip's inputs are built from a row, not a sample table: pandas (0.2–0.3 s to import) stays out."""
    bundle_dir = linear_bundle(tmp_path / "linear")
    video = write_frames(tmp_path / "clip.mp4", face_frames([True] * 12), fps=30)
    script = (
        "import json, sys\n"
        "from microexp.cli import main\n"
        f"sys.argv = ['microexp', 'predict', {str(video)!r}, '--model', {str(bundle_dir)!r}, '--spot', '--json']\n"
        "try:\n    main()\nexcept SystemExit as stop:\n    assert stop.code == 0, stop.code\n"
        "watched = [m for m in sys.modules\n"
        "           if m in ('torch', 'sklearn', 'pandas') or m.startswith('microexp.models.')]\n"
        "print(json.dumps(sorted(watched)))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=subprocess_env())
    assert result.returncode == 0, result.stderr
    imported = json.loads(result.stdout.strip().splitlines()[-1])
    assert "torch" not in imported and "sklearn" not in imported and "pandas" not in imported
    assert imported == ["microexp.models.linear", "microexp.models.registry", "microexp.models.zoo"]


def test_the_model_table_names_the_module_of_every_registered_model():
    from microexp.models.registry import _REGISTRY, list_models

    names = list_models()  # imports every built-in model module
    assert sorted(MODEL_MODULES) == names
    for name in names:
        assert _REGISTRY[name].factory.__module__ == f"microexp.models.{MODEL_MODULES[name]}", name
