"""CAS(ME)^2 against a generated copy of its sheet layout (no real sheet is available)."""

from __future__ import annotations

from copies import write_casme2long

from microexp.data.base import frame_number
from microexp.data.casme2_long import CASME2Long


def test_micro_expressions_with_frames_from_the_recording(tmp_path):
    write_casme2long(tmp_path)
    table = CASME2Long(tmp_path).load()
    assert table.class_counts() == {"negative": 1, "positive": 1, "surprise": 0, "others": 0}
    first = table.samples.set_index("clip_id").loc["casme2long/s15/disgust1_1"]
    assert [frame_number(f) for f in first["frames"]] == list(range(557, 609))
    assert "rawpic/s15/15_0101disgustingteeth" in first["frames"][0]
