"""The onset→apex path on real CASME II frames, the array cache and the CLI commands."""

import json

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import shared_path
from microexp.cli import app
from microexp.errors import ConfigError, DataError, NoFaceError
from microexp.preprocess import cache as cache_module
from microexp.preprocess.cache import ArrayCache
from microexp.preprocess.flow import DISParams, TVL1Params
from microexp.preprocess.pipeline import Clip, FlowSettings, clip_flow, preprocess_clip
from microexp.preprocess.video import list_frames


@pytest.fixture(scope="module")
def casme2():
    return list_frames(shared_path("frames", "casme2_sequence"))


def test_flow_from_frame_1_to_10_is_finite_and_smooth(casme2):
    result = preprocess_clip(casme2, onset=1, apex=10)
    assert len(result.frames) == 10 and result.apex.index == 9 and result.apex.method == "annotation"
    flow = result.flow
    assert flow.shape == (128, 128, 2) and np.isfinite(flow).all()
    assert np.abs(flow).max() < 5  # micro-expression and head motion over 10 frames: a few pixels at most
    # smooth: neighbouring vectors differ far less than the flow varies across the face (0.15× here;
    # uncorrelated noise of the same spread would give about 1.1×)
    step = (np.abs(np.diff(flow, axis=0)).mean() + np.abs(np.diff(flow, axis=1)).mean()) / 2
    assert step < 0.2 * np.abs(flow - flow.mean(axis=(0, 1))).mean()
    assert result.features.shape == (28, 28, 3) and np.isfinite(result.features).all()


def test_clip_flow_matches_the_full_path_and_both_backends_agree(casme2):
    clip = Clip(tuple(casme2), onset=1, apex=10)
    settings = FlowSettings(method="dis")
    dlib_features = clip_flow(clip, settings)
    mtcnn_features = clip_flow(clip, FlowSettings(backend="mtcnn", method="dis"))
    assert np.allclose(dlib_features, preprocess_clip(casme2, 1, 10, settings=settings).features)
    assert np.corrcoef(dlib_features[..., :2].ravel(), mtcnn_features[..., :2].ravel())[0, 1] > 0.8


def test_apex_is_spotted_when_not_annotated(casme2):
    result = preprocess_clip(casme2, onset=1, settings=FlowSettings(method="dis"))
    assert result.apex.method == "flow-magnitude:dis" and 0 < result.apex.index < 10


def test_settings_refuse_mismatched_choices():
    with pytest.raises(ConfigError, match="'tvl1' takes TVL1Params, got DISParams"):
        FlowSettings(method="tvl1", flow_params=DISParams())
    with pytest.raises(ConfigError, match="face backend 'opencv' is unknown"):
        FlowSettings(backend="opencv")
    assert FlowSettings().flow_params == TVL1Params()


def test_onset_after_apex_in_a_clip_is_refused(casme2):
    with pytest.raises(DataError, match="onset 5 is after apex 2"):
        clip_flow(Clip(tuple(casme2), onset=5, apex=2))


def test_a_clip_without_a_face_names_the_onset_frame_or_falls_back(tmp_path):
    frames = []
    for i in (1, 2):
        path = tmp_path / f"img{i}.png"
        cv2.imwrite(str(path), np.full((90, 80), 100 + i, np.uint8))
        frames.append(path)
    with pytest.raises(NoFaceError, match=r"img1.png: the dlib backend found no face"):
        clip_flow(Clip(tuple(frames), 1, 2), FlowSettings(method="dis"))
    fallback = clip_flow(Clip(tuple(frames), 1, 2), FlowSettings(method="dis", no_face="frame"))
    assert fallback.shape == (28, 28, 3)


def test_an_interrupted_write_leaves_nothing_a_later_run_trusts(tmp_path, monkeypatch):
    cache = ArrayCache(tmp_path)
    real_save = np.save

    def save_then_die(file, array, allow_pickle):
        real_save(file, array[:1], allow_pickle=allow_pickle)  # part of the data reaches the disk
        raise KeyboardInterrupt

    monkeypatch.setattr(cache_module.np, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        cache.put("ab" * 32, np.ones((4, 4)))
    monkeypatch.undo()
    assert cache.get("ab" * 32) is None
    assert not [path for path in tmp_path.rglob("*") if path.is_file()]  # not even the temporary file
    cache.put("ab" * 32, np.ones((4, 4)))
    assert cache.get("ab" * 32).shape == (4, 4)


def test_cli_flow_writes_the_composite_png(tmp_path, casme2):
    out = tmp_path / "pair.png"
    result = CliRunner().invoke(
        app, ["flow", str(casme2[0]), str(casme2[9]), "--out", str(out), "--method", "dis"]
    )
    assert result.exit_code == 0, result.output
    image = cv2.imread(str(out))
    assert image.shape == (28, 28, 3) and image.min() == 0 and image.max() == 255


def test_cli_preprocess_writes_crops_flow_and_summary(tmp_path, casme2):
    folder = casme2[0].parent
    args = [
        "preprocess",
        "--frames",
        str(folder),
        "--onset",
        "1",
        "--apex",
        "10",
        "--out",
        str(tmp_path),
        "--method",
        "dis",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "aligned").glob("*.png"))) == 10
    assert np.load(tmp_path / "flow.npy").shape == (28, 28, 3)
    assert cv2.imread(str(tmp_path / "flow_wheel.png")).shape == (128, 128, 3)
    assert json.loads((tmp_path / "clip.json").read_text())["apex"] == "010.jpg"


def test_cli_reports_a_bad_clip_as_one_line_and_exit_code_2(tmp_path, monkeypatch, capsys):
    import sys

    from microexp import cli

    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setattr(
        sys,
        "argv",
        ["microexp", "preprocess", "--frames", str(empty), "--onset", "1", "--out", str(tmp_path)],
    )
    with pytest.raises(SystemExit) as stop:
        cli.main()
    assert stop.value.code == 2
    assert "empty holds no frames" in capsys.readouterr().err
