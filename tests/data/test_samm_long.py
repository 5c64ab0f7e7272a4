"""SAMM long videos and CAS(ME)^2 as long videos, against generated copies of their layouts."""

from __future__ import annotations

from copies import write_casme2long, write_sammlong

from microexp.data.casme2_long import CASME2Long
from microexp.data.long_videos import TrueInterval
from microexp.data.samm_long import SAMMLong


def test_samm_long_videos_have_every_recording_and_micro_intervals_as_positions(tmp_path):
    videos = {v.video_id: v for v in SAMMLong(write_sammlong(tmp_path)).long_videos()}
    assert sorted(videos) == ["sammlong/006_1", "sammlong/007_3",
                              "sammlong/007_4"]
    first = videos["sammlong/006_1"]
    assert first.subject == "006" and first.fps == 200 and len(first.frames) == 700
    # frames are numbered from 1, positions from 0; the macro row is left out; onset 0 = not coded: the apex
    assert first.intervals == (
        TrueInterval(100, 109, 139, "unknown", "006_1_1"),
        TrueInterval(449, 449, 469, "unknown", "006_1_3"),
    )
    assert videos["sammlong/007_3"].intervals == (TrueInterval(20, 29, 29, "unknown", "007_3_1"),)
    assert videos["sammlong/007_4"].intervals == ()


def test_samm_long_loads_as_one_class_of_micro_expressions(tmp_path):
    root = write_sammlong(tmp_path)
    table = SAMMLong(root).load()
    assert table.class_counts() == {"micro-expression": 3}


def test_casme2_recordings_as_long_videos_at_30_fps(tmp_path):
    videos = CASME2Long(write_casme2long(tmp_path)).long_videos()
    assert [v.video_id for v in videos] == ["casme2long/15_0101disgustingteeth",
                                            "casme2long/16_0401angrywhole"]
    assert videos[0].fps == 30
    # frames 550..614: the micro-expression 557-608 (apex 572) is at positions 7-58; the macro one is left out
    assert videos[0].intervals == (TrueInterval(7, 22, 58, "negative", "disgust1_1"),)
