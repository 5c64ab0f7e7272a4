"""Synthetic long videos: events where the manifest says, read back by the SAMM long videos adapter."""

from __future__ import annotations

import dataclasses
import json

import cv2
import numpy as np
import pytest

from microexp.data.synthetic_long import (
    MANIFEST,
    LongVideoSettings,
    SyntheticLongVideos,
    read_events,
    write_long_videos,
)
from microexp.errors import ConfigError

SMALL = LongVideoSettings(videos=1, seconds=8, fps=100, micro_expressions=2, head_turns=1, macro_expressions=0,
                          face_absences=1, blinks_per_minute=15)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    return write_long_videos(tmp_path_factory.mktemp("long"), SMALL)


@pytest.fixture(scope="module")
def control(tmp_path_factory):
    return write_long_videos(tmp_path_factory.mktemp("control"), dataclasses.replace(SMALL, amplitude=0))


def test_the_adapter_reads_the_micro_expressions_the_manifest_lists(written):
    (video,) = SyntheticLongVideos(written).long_videos()
    assert len(video.frames) == 800 and video.fps == 100
    micro = [e for e in read_events(written)["001_1"] if e.kind == "micro"]
    assert [(i.onset, i.apex, i.offset) for i in video.intervals] == [(e.onset, e.apex, e.offset) for e in micro]
    assert {i.emotion for i in video.intervals} <= {"disgust", "happiness", "surprise"}
    kinds = {e.kind for e in read_events(written)["001_1"]}
    assert {"micro", "head_turn", "absence", "blink"} <= kinds


def test_the_face_is_out_of_view_inside_the_absence_only(written):
    manifest = json.loads((written / MANIFEST).read_text())
    (absence,) = [e for e in read_events(written)["001_1"] if e.kind == "absence"]
    (span,) = manifest["videos"]["001_1"]["face_absent"]
    assert absence.onset < span[0] <= span[1] < absence.offset


def test_the_control_differs_only_where_micro_expressions_are(written, control):
    micro = [e for e in read_events(written)["001_1"] if e.kind == "micro"]
    assert read_events(control) == read_events(written)  # the same distractors, the same times
    inside = set().union(*(range(e.onset, e.offset + 1) for e in micro))
    folder = "SAMM_longvideos/001_1"
    for index in [micro[0].onset - 5, micro[0].apex, micro[1].apex, 0, 799]:
        name = f"{folder}/001_1_{index + 1:04d}.jpg"
        a, b = (cv2.imread(str(root / name), cv2.IMREAD_GRAYSCALE).astype(int) for root in (written, control))
        moved = np.abs(a - b).max()
        assert (moved > 20) if index in inside else (moved == 0), (index, moved)


def test_rewrites_only_when_the_settings_change(written):
    stamp = (written / MANIFEST).stat().st_mtime_ns
    write_long_videos(written, SMALL)
    assert (written / MANIFEST).stat().st_mtime_ns == stamp


def test_refuses_settings_it_cannot_render():
    with pytest.raises(ConfigError, match="amplitude"):
        LongVideoSettings(amplitude=9)
