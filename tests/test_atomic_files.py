"""Every file microexp writes is written atomically, and an unwritable output is one clear error."""

import sys

import numpy as np
import pytest

from conftest import shared_path
from microexp import cli
from microexp.errors import OutputError
from microexp.evaluation import report
from microexp.files import atomic_path, write_image, write_json, write_text


def test_an_interrupted_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "predictions.csv"
    write_text(path, "old\n")
    with pytest.raises(KeyboardInterrupt), atomic_path(path) as temporary:
        temporary.write_text("half of the new")
        raise KeyboardInterrupt
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["predictions.csv"]


def test_the_temporary_keeps_the_suffix_writers_choose_the_format_by(tmp_path):
    with atomic_path(tmp_path / "flow.npy") as temporary:
        assert temporary.parent == tmp_path and temporary.suffix == ".npy" and temporary.name.startswith(".")
        np.save(temporary, np.arange(3))  # numpy would append .npy to any other name
    assert np.load(tmp_path / "flow.npy").tolist() == [0, 1, 2]


def test_a_folder_that_cannot_be_made_is_one_error_naming_the_path(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(OutputError, match=r"cannot write .*a_file/run/config.json: .*a_file is a file, not a folder"):
        write_json(blocker / "run" / "config.json", {"seeds": [0]})


def test_an_image_format_opencv_cannot_write_is_refused_not_reported_written(tmp_path):
    with pytest.raises(OutputError, match=r"cannot write the image .*flow.txt: OpenCV cannot write .txt"):
        write_image(tmp_path / "flow.txt", np.zeros((4, 4, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_a_killed_run_never_leaves_a_truncated_predictions_file(tmp_path, monkeypatch):
    """The issue's case: predictions.csv was twice left empty by a kill; now the old file survives."""
    import pandas as pd

    frame = pd.DataFrame({"seed": [0], "fold": ["a"], "clip_id": ["x/y/z"], "label": [1], "prediction": [1]})
    report.write_run(tmp_path, {"model": "fr"}, frame.assign(part="x"), {"uf1": 1.0})
    before = (tmp_path / "predictions.csv").read_bytes()

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "write_megc_log", killed)  # dies after predictions.csv, before the summary
    with pytest.raises(KeyboardInterrupt):
        report.write_run(tmp_path, {"model": "fr"}, frame.assign(part="x", prediction=[0]), {"uf1": 0.0})
    assert (tmp_path / "predictions.csv").read_bytes() != before  # replaced whole, not truncated
    assert report.read_predictions(tmp_path / "predictions.csv")["prediction"].tolist() == [0]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_cli_flow_to_an_unwritable_path_exits_2_and_does_not_say_wrote(tmp_path, monkeypatch, capsys):
    frames = sorted(shared_path("frames", "casme2_sequence").iterdir())
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    out = blocker / "pair.png"
    monkeypatch.setattr(
        sys, "argv", ["microexp", "flow", str(frames[0]), str(frames[9]), "--out", str(out), "--method", "dis"]
    )
    with pytest.raises(SystemExit) as stop:
        cli.main()
    captured = capsys.readouterr()
    assert stop.value.code == 2
    assert "wrote" not in captured.out
    assert f"cannot write {out}: {blocker} is a file, not a folder" in captured.err
    assert len(captured.err.strip().splitlines()) == 1
