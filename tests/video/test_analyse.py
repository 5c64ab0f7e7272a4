"""``analyse`` end to end on generated videos: spotted intervals classified, never on a frame without a face,
a timeline written; a video without a face is one clear error."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from face_videos import expression_video, face_frames, linear_bundle, write_frames

from conftest import shared_path, subprocess_env
from microexp.errors import DataError, NoFaceError
from microexp.training.bundle import load_bundle
from microexp.video.analyse import analyse_video, classification_start, write_timeline
from microexp.viz.timeline import plot_timeline

FPS = 100
# a face with a micro-expression (frames 20-44, apex 32), gone for 30 frames, back for 60
PRESENT = [True] * 60 + [False] * 30 + [True] * 60
ONSET, APEX, OFFSET = 20, 32, 44


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory):
    return linear_bundle(tmp_path_factory.mktemp("bundle") / "linear")


@pytest.fixture(scope="module")
def leaving_video(tmp_path_factory):
    frames = expression_video(PRESENT, "positive", ONSET, APEX, OFFSET)
    return write_frames(tmp_path_factory.mktemp("videos") / "leaves.mp4", frames, fps=FPS)


@pytest.fixture(scope="module")
def analysis(leaving_video, bundle_dir):
    return analyse_video(leaving_video, load_bundle(bundle_dir))


def test_the_micro_expression_is_spotted_and_classified(analysis):
    hits = [e for e in analysis.events if e.onset <= APEX <= e.offset]
    assert len(hits) == 1, analysis.events
    event = hits[0]
    assert abs(event.apex - APEX) <= 4
    assert event.label in ("negative", "positive", "surprise")
    assert sum(event.probabilities.values()) == pytest.approx(1.0)
    assert event.apex_time == pytest.approx(event.apex / FPS, abs=1e-6)
    assert event.classified_from <= event.onset < event.apex


def test_a_short_interval_is_classified_from_the_frame_the_spotter_compared_it_with():
    face = np.array([False] * 3 + [True] * 20)
    assert classification_start(10, 10, 4, face) == 6  # onset on the apex: the flow starts 4 frames back
    assert classification_start(5, 10, 4, face) == 5  # an onset further back than that stays
    assert classification_start(5, 6, 4, face) == 3  # never before the face appears


def test_no_interval_touches_a_frame_without_a_face(analysis):
    truth = np.array(PRESENT)
    assert not (analysis.has_face & ~truth).any()
    assert analysis.has_face[:60].all() and analysis.has_face[95:].all()
    for event in analysis.events:
        assert analysis.has_face[event.onset : event.offset + 1].all(), event
        assert truth[event.onset : event.offset + 1].all(), event
    assert np.isnan(analysis.signal[60:90]).all()


def test_the_timeline_is_written_as_csv_json_and_a_plot(analysis, tmp_path):
    csv_path, json_path = write_timeline(analysis, tmp_path)
    lines = csv_path.read_text().splitlines()
    assert lines[0].split(",")[:9] == ["onset", "apex", "offset", "onset_time", "apex_time", "offset_time", "score",
                                       "classified_from", "label"]
    assert len(lines) == 1 + len(analysis.events)
    summary = json.loads(json_path.read_text())
    assert summary["frames"] == len(PRESENT) and summary["face_frames"] == int(analysis.has_face.sum())
    assert summary["face_runs"][0] == [0, 59] and summary["face_runs"][-1][1] == len(PRESENT) - 1
    assert [e["apex"] for e in summary["events"]] == [e.apex for e in analysis.events]
    figure = plot_timeline(analysis)
    assert figure.axes[0].get_xlabel() == "time (s)"


def test_a_video_without_a_face_is_refused_naming_it(bundle_dir, tmp_path):
    video = write_frames(tmp_path / "wall.mp4", face_frames([False] * 12), fps=30)
    with pytest.raises(NoFaceError, match="wall.mp4: no face was found on any of its 12 frames"):
        analyse_video(video, load_bundle(bundle_dir))


def test_a_still_image_is_refused_as_no_video(bundle_dir, tmp_path):
    import cv2

    photo = tmp_path / "portrait.jpg"
    cv2.imwrite(str(photo), face_frames([True])[0])
    with pytest.raises(DataError, match="portrait.jpg: it holds 1 frame.*not a still image"):
        analyse_video(photo, load_bundle(bundle_dir))


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "microexp", *args], capture_output=True, text=True,
                          env=subprocess_env())


def test_analyse_command_writes_the_timeline(leaving_video, bundle_dir, tmp_path):
    result = run_cli("analyse", str(leaving_video), "--model", str(bundle_dir), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    for name in ("timeline.csv", "timeline.json", "timeline.png"):
        assert (tmp_path / "out" / name).is_file(), name
    assert "150 frames" in result.stdout


def test_analyse_command_on_the_real_video_without_a_face_says_so_in_one_line(bundle_dir, tmp_path):
    video = shared_path("videos", "no_face.mp4")
    result = run_cli("analyse", str(video), "--model", str(bundle_dir), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "no_face.mp4: no face was found" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
