"""Damaged images and videos are errors naming the file, never data: OpenCV alone fills a truncated JPEG
with grey and returns it, which made `predict --spot` and `preprocess` pick the damaged frame as the apex."""

import sys

import cv2
import numpy as np
import pytest
from PIL import ImageFile

from flow_tables import make_flow_table
from microexp import cli
from microexp.data.images import damage, read_image
from microexp.errors import UnreadableFileError
from microexp.inputs import ArrayDataset, load_inputs
from microexp.models import get_model_info
from microexp.preprocess.video import read_frame, read_video, write_video
from microexp.training.bundle import save_bundle
from microexp.training.config import TrainConfig
from microexp.training.engine import train_model

CUTS = [0.3, 0.8, 0.99]  # how much of the file is left


def _picture(seed=0, size=(96, 128)):
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 255, (*size, 3)).astype(np.uint8), (9, 9), 3)


def _truncate(path, keep):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
@pytest.mark.parametrize("keep", CUTS)
def test_a_truncated_frame_is_an_error_naming_it(tmp_path, suffix, keep):
    path = tmp_path / f"img7{suffix}"
    cv2.imwrite(str(path), _picture())
    _truncate(path, keep)
    with pytest.raises(UnreadableFileError, match=rf"frame {path} is damaged \(.*\); replace or re-extract it"):
        read_frame(path)
    with pytest.raises(UnreadableFileError, match=rf"clip x: image {path} cannot be read"):
        read_image(path, mode="RGB", what="clip x")  # the PIL path (shipped flows, apex crops)


@pytest.mark.parametrize("colour", [False, True])
def test_whole_frames_decode_exactly_as_opencv_reads_them(tmp_path, colour):
    """The check must not change a single pixel: cached inputs were made with cv2.imread."""
    path = tmp_path / "img1.jpg"
    cv2.imwrite(str(path), _picture())
    expected = cv2.imread(str(path), cv2.IMREAD_COLOR if colour else cv2.IMREAD_GRAYSCALE)
    expected = cv2.cvtColor(expected, cv2.COLOR_BGR2RGB) if colour else expected
    np.testing.assert_array_equal(read_frame(path, colour), expected)
    assert damage(path.read_bytes()) is None


def test_truncated_images_are_never_loaded_anywhere_in_microexp():
    import microexp.cli  # noqa: F401  imports every command's modules' top levels

    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_a_truncated_video_is_an_error_naming_it(tmp_path):
    frames = np.stack([np.roll(_picture()[..., 0], shift, axis=1) for shift in range(20)])
    path = write_video(tmp_path / "clip.mp4", frames, fps=30)
    _truncate(path, 0.6)
    with pytest.raises(UnreadableFileError, match=rf"video {path} cannot be decoded"):
        read_video(path)


@pytest.fixture
def frame_folder_with_one_damaged_frame(tmp_path):
    """Ten frames of a bright square moving right; frame 6, the one that differs most from the first,
    truncated (a damaged frame, filled with grey by OpenCV, is what motion-based spotting picks)."""
    folder = tmp_path / "clip"
    folder.mkdir()
    for number in range(1, 11):
        image = np.full((120, 120, 3), 90, np.uint8)
        image[40:80, 20 + 2 * number : 60 + 2 * number] = 200
        cv2.imwrite(str(folder / f"img{number}.jpg"), image)
    _truncate(folder / "img6.jpg", 0.5)
    return folder


def _main(monkeypatch, capsys, *argv):
    monkeypatch.setattr(sys, "argv", ["microexp", *argv])
    with pytest.raises(SystemExit) as stop:
        cli.main()
    captured = capsys.readouterr()
    return stop.value.code, captured.out, captured.err.strip()


def test_preprocess_refuses_a_frame_folder_with_a_damaged_frame(frame_folder_with_one_damaged_frame, tmp_path,
                                                                 monkeypatch, capsys):  # fmt: skip
    folder = frame_folder_with_one_damaged_frame
    code, out, err = _main(
        monkeypatch, capsys, "preprocess", "--frames", str(folder), "--onset", "1", "--out", str(tmp_path / "out"),
        "--no-face", "frame", "--method", "dis",
    )  # fmt: skip
    assert code == 2 and "apex" not in out
    assert err.startswith(f"error: frame {folder / 'img6.jpg'} is damaged (") and len(err.splitlines()) == 1
    assert not (tmp_path / "out" / "flow.png").exists()


def test_predict_spot_refuses_a_frame_folder_with_a_damaged_frame(frame_folder_with_one_damaged_frame, tmp_path,
                                                                  monkeypatch, capsys):  # fmt: skip
    table = make_flow_table(tmp_path / "toy")
    x = load_inputs(table, get_model_info("fr").inputs)
    trained = train_model(
        "fr", ArrayDataset(x, table.labels, table.samples["subject"].to_numpy()), num_classes=3, seed=0,
        config=TrainConfig(epochs=1, batch_size=8),
    )  # fmt: skip
    bundle = save_bundle(
        tmp_path / "b", trained, classes=table.classes, dataset="toy", preprocessing={}, train_config={}
    )
    folder = frame_folder_with_one_damaged_frame
    code, out, err = _main(monkeypatch, capsys, "predict", str(folder), "--model", str(bundle), "--spot")
    assert code == 2 and out == ""
    assert err.startswith(f"error: frame {folder / 'img6.jpg'} is damaged") and len(err.splitlines()) == 1
