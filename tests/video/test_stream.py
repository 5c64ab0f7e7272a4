"""Streaming decode: a damaged frame is skipped and named, time stamps come from the video, grey is FFmpeg's."""

from __future__ import annotations

import logging

import av
import cv2
import numpy as np
import pytest
from face_videos import damage_packet, face_frames, write_frames

from microexp.video.stream import probe, read_span, stream_frames


def test_a_damaged_frame_is_skipped_named_and_the_later_frames_keep_their_index(tmp_path, caplog):
    video = write_frames(tmp_path / "clip.mkv", face_frames([True] * 10), fps=25, codec="mjpeg")
    damage_packet(video, 5)
    with caplog.at_level(logging.WARNING, logger="microexp.video.stream"):
        frames = list(stream_frames(video))
    assert [f.index for f in frames] == [0, 1, 2, 3, 4, 6, 7, 8, 9]
    assert [round(f.time, 3) for f in frames] == [0.0, 0.04, 0.08, 0.12, 0.16, 0.24, 0.28, 0.32, 0.36]
    assert "clip.mkv: frame 5 (0.200 s) cannot be decoded" in caplog.text
    assert all(f.grey().shape == (192, 256) for f in frames)


def test_a_variable_frame_rate_keeps_the_time_stamps_of_the_file(tmp_path):
    times = [0.0, 0.005, 0.015, 0.020, 0.045, 0.050, 0.100, 0.105]
    video = write_frames(tmp_path / "vfr.mkv", face_frames([True] * len(times)), fps=200, codec="mjpeg", times=times)
    frames = list(stream_frames(video))
    assert [f.index for f in frames] == list(range(len(times)))
    assert np.allclose([f.time for f in frames], times, atol=1e-6)


@pytest.mark.parametrize(("codec", "suffix"), [("libx264", ".mp4"), ("mjpeg", ".mkv")])
def test_grey_frames_are_the_ones_ffmpeg_converts(codec, suffix, tmp_path):
    # limited-range (H.264) and full-range (MJPEG) luminance read straight from the plane, as FFmpeg's grey
    video = write_frames(tmp_path / f"clip{suffix}", face_frames([True] * 4), codec=codec)
    with av.open(str(video)) as container:
        expected = [frame.to_ndarray(format="gray") for frame in container.decode(video=0)]
    got = [frame.grey() for frame in stream_frames(video)]
    assert len(got) == len(expected) and all(np.array_equal(a, b) for a, b in zip(got, expected, strict=True))


def test_a_span_read_again_by_seeking_is_the_same_frames(tmp_path):
    video = write_frames(tmp_path / "clip.mp4", face_frames([True] * 60), fps=30)
    whole = list(stream_frames(video))
    times = np.array([f.time for f in whole])
    span, indices = read_span(video, times, 41, 47, tmp_path)
    assert indices == list(range(41, 48))
    assert all(np.array_equal(span[i], whole[41 + i].grey()) for i in range(7))
    info = probe(video)
    assert (info.width, info.height, round(info.fps)) == (256, 192, 30)


def test_a_span_of_a_frame_folder_decodes_only_its_own_frames(tmp_path):
    folder = tmp_path / "recording"
    folder.mkdir()
    frames = face_frames([True] * 12)
    for number, frame in enumerate(frames, start=1):
        cv2.imwrite(str(folder / f"img{number}.png"), frame)
    # a damaged frame outside the span: a long recording's folder is not decoded whole to read a span of it
    (folder / "img10.png").write_bytes(b"not a png")
    span, indices = read_span(folder, np.arange(13, dtype=float), 3, 5, tmp_path)
    assert indices == [3, 4, 5]
    np.testing.assert_array_equal(span, frames[2:5])
