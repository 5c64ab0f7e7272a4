"""CAS(ME)^2 against a generated copy of its sheet layout (no real sheet is available)."""

from __future__ import annotations

import pandas as pd

from microexp.data.base import frame_number
from microexp.data.casme2_long import SHEET, CASME2Long


def make_copy(root):
    codes = pd.DataFrame(
        [
            [1, "disgust1_1", 557, 572, 608, "4", "negative", "micro-expression", "disgust"],
            [1, "disgust1_2", 1000, 1020, 1200, "4+7", "negative", "macro-expression", "disgust"],
            [2, "anger1_1", 10, 12, 20, "12", "positive", "micro-expression", "happy"],
        ]
    )
    with pd.ExcelWriter(root / SHEET) as writer:
        codes.to_excel(writer, sheet_name="CASFEcode_final", header=False, index=False)
        pd.DataFrame([["s15", 15, 1], ["s16", 16, 2]]).to_excel(
            writer, sheet_name="naming rule1", header=False, index=False
        )
        pd.DataFrame([[101, "disgust1"], [401, "anger1"]]).to_excel(
            writer, sheet_name="naming rule2", header=False, index=False
        )
    for folder, numbers in [
        ("s15/15_0101disgustingteeth", range(550, 615)),
        ("s16/16_0401angrywhole", range(5, 25)),
    ]:
        path = root / "rawpic" / folder
        path.mkdir(parents=True)
        for number in numbers:
            (path / f"img{number}.jpg").write_bytes(b"")


def test_micro_expressions_with_frames_from_the_recording(tmp_path):
    make_copy(tmp_path)
    table = CASME2Long(tmp_path).load()
    assert table.class_counts() == {"negative": 1, "positive": 1, "surprise": 0, "others": 0}
    first = table.samples.set_index("clip_id").loc["casme2long/s15/disgust1_1"]
    assert [frame_number(f) for f in first["frames"]] == list(range(557, 609))
    assert "rawpic/s15/15_0101disgustingteeth" in first["frames"][0]
