"""Reading frame folders and videos: order, frame numbers, ranges, and clear errors on bad input."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from microexp.errors import DataError, DataNotFoundError, UnreadableFileError
from microexp.preprocess.video import (
    clip_range,
    find_frame,
    frame_number,
    list_frames,
    natural_key,
    read_frames,
    read_video,
)


def write_frames(folder: Path, names: list[str], shape=(24, 20)) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, name in enumerate(names):
        path = folder / name
        cv2.imwrite(str(path), np.full(shape, 10 * i, np.uint8))
        paths.append(path)
    return paths


def test_frames_sort_by_number_not_by_text(tmp_path):
    write_frames(tmp_path, ["img100.jpg", "img46.jpg", "img9.png"])
    (tmp_path / "notes.txt").write_text("not a frame")
    assert [p.name for p in list_frames(tmp_path)] == ["img9.png", "img46.jpg", "img100.jpg"]
    names = ["reg_img10.jpg", "reg_img9.jpg", "reg_img100.jpg"]
    assert sorted(names, key=natural_key) == ["reg_img9.jpg", "reg_img10.jpg", "reg_img100.jpg"]


def test_frame_numbers_come_from_the_last_digit_run():
    assert frame_number("img46.jpg") == 46
    assert frame_number("reg_img012.jpg") == 12
    assert frame_number("006_05562.jpg") == 5562
    with pytest.raises(DataError, match="apex.jpg.*no frame number"):
        frame_number("apex.jpg")


def test_clip_range_selects_onset_to_apex_by_frame_number(tmp_path):
    frames = write_frames(tmp_path, [f"img{i}.jpg" for i in range(40, 50)])
    selected = clip_range(frames, 43, 47)
    assert [frame_number(p) for p in selected] == [43, 44, 45, 46, 47]
    assert [frame_number(p) for p in clip_range(frames, 43, 45, offset=48)] == [43, 44, 45, 46, 47, 48]
    assert find_frame(frames, 40) == 0


def test_onset_after_apex_is_refused_naming_the_clip(tmp_path):
    frames = write_frames(tmp_path / "EP01", [f"img{i}.jpg" for i in range(1, 6)])
    with pytest.raises(DataError, match=r"EP01: onset 4 is after apex 2"):
        clip_range(frames, 4, 2)
    with pytest.raises(DataError, match=r"EP01: apex 4 is after offset 3"):
        clip_range(frames, 1, 4, offset=3)


def test_frame_number_outside_the_clip_is_refused(tmp_path):
    frames = write_frames(tmp_path / "EP02", [f"img{i}.jpg" for i in range(1, 6)])
    with pytest.raises(DataError, match=r"frame number 9 is not in .*EP02 \(frames 1–5\)"):
        clip_range(frames, 1, 9)


def test_empty_and_missing_folders_are_clear_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"empty holds no frames"):
        list_frames(tmp_path / "empty")
    with pytest.raises(DataNotFoundError, match=r"absent does not exist"):
        list_frames(tmp_path / "absent")


def test_unreadable_frame_is_named(tmp_path):
    frames = write_frames(tmp_path, ["img1.jpg"])
    broken = tmp_path / "img2.jpg"
    broken.write_bytes(b"not a jpeg")
    with pytest.raises(UnreadableFileError, match=r"img2.jpg is damaged \(cannot identify image file"):
        read_frames([frames[0], broken])


def test_frames_of_different_sizes_are_refused_naming_both(tmp_path):
    first = write_frames(tmp_path, ["img1.jpg"], shape=(24, 20))
    second = write_frames(tmp_path / "b", ["img2.jpg"], shape=(30, 20))
    with pytest.raises(DataError, match=r"img2.jpg is 20×30 but .*img1.jpg is 20×24"):
        read_frames(first + second)


def test_video_frames_and_range(tmp_path):
    import av

    path = tmp_path / "clip.mkv"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=25)  # lossless, so values can be checked exactly
        stream.width, stream.height, stream.pix_fmt = 32, 24, "gray"
        for i in range(6):
            frame = av.VideoFrame.from_ndarray(np.full((24, 32), 40 * i, np.uint8), format="gray")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    frames = read_video(path, start=2, stop=5)
    assert frames.shape == (3, 24, 32)
    assert [int(f.mean()) for f in frames] == [80, 120, 160]
    assert read_video(path, colour=True).shape == (6, 24, 32, 3)


def test_broken_video_is_named(tmp_path):
    path = tmp_path / "broken.mp4"
    path.write_bytes(b"\x00" * 100)
    with pytest.raises(UnreadableFileError, match=r"broken.mp4 cannot be decoded"):
        read_video(path)
