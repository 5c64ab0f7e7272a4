"""Subjects whose names pandas would take for missing values ("NA" is a JAFFE subject) survive a whole
`evaluate` and its resume: every task file reads back exactly as written."""

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from microexp.cli import app
from microexp.data import registry
from microexp.data.base import LabelMap, StillImageAdapter, image_row
from microexp.evaluation.report import (
    PREDICTIONS_FILE,
    SUMMARY_FILE,
    TASKS_DIR,
    read_predictions,
    write_task_predictions,
)

SUBJECTS = ("NA", "null", "None", "KA")


class NamedSubjects(StillImageAdapter):
    """Flow images filed by subject: ``<subject>/<class>_<n>.png``; the folder is the subject's name."""

    name = "named-subjects"
    title = "Named subjects"
    description = "flow images in one folder per subject"
    layout = "<subject>/<class>_<n>.png"
    label_maps = {"2class": LabelMap("2class", ("a", "b"), {"a": "a", "b": "b"}, "two classes")}
    default_label_map = "2class"
    default_splitter = "loso"
    face_geometry = "as-cropped"

    def read_clips(self):
        root = self.require_root()
        return [
            image_row(path.parent.name, path, path.stem.split("_")[0], root, flow_path=str(path))
            for path in sorted(root.glob("*/*.png"))
        ]


@pytest.fixture
def named_subjects(tmp_path, monkeypatch):
    """A database of 4 subjects, 3 clips per class each, whose class moves a different half of the flow."""
    monkeypatch.setitem(registry.DATASETS, NamedSubjects.name, NamedSubjects)
    rng = np.random.default_rng(0)
    root = tmp_path / "named"
    for subject in SUBJECTS:
        (root / subject).mkdir(parents=True)
        for label, name in enumerate("ab"):
            for k in range(3):
                image = rng.integers(0, 60, size=(28, 28, 3))
                image[label * 14 : label * 14 + 14, :, :2] += 150
                Image.fromarray(image.astype(np.uint8)).save(root / subject / f"{name}_{k}.png")
    return root


def test_subjects_called_na_and_null_survive_evaluate_and_its_resume(named_subjects, tmp_path):
    out = tmp_path / "run"
    command = [
        "evaluate", "--dataset", NamedSubjects.name, "--data-dir", str(named_subjects), "--model", "linear",
        "--seeds", "0", "--workers", "1", "--out", str(out), "--cache-dir", str(tmp_path / "cache"),
    ]  # fmt: skip
    first = CliRunner().invoke(app, command)
    assert first.exit_code == 0, first.output
    # an interruption: the summary and the pooled file not written yet, one fold still to run
    for name in (SUMMARY_FILE, PREDICTIONS_FILE):
        (out / name).unlink()
    (out / TASKS_DIR / "linear" / "seed0" / "KA.csv").unlink()

    resumed = CliRunner().invoke(app, command)
    assert resumed.exit_code == 0, resumed.output
    assert "3 finished task(s) kept" in resumed.output
    summary = json.loads((out / SUMMARY_FILE).read_text())
    assert summary["n_folds"] == 4 and summary["n_clips"] == 24
    predictions = read_predictions(out / PREDICTIONS_FILE)
    assert sorted(predictions["subject"].unique()) == sorted(SUBJECTS)
    assert sorted(predictions["fold"].unique()) == sorted(SUBJECTS)
    assert (predictions.groupby("subject").size() == 6).all()
    assert predictions["label"].dtype == np.int64 and predictions["p_a"].dtype == np.float64


def test_a_task_file_reads_back_exactly_as_written(tmp_path):
    import pandas as pd

    written = pd.DataFrame(
        {
            "seed": [0, 0, 0],
            "fold": ["NA", "null", "006"],
            "subject": ["NA", "null", "006"],
            "clip_id": ["jaffe/NA/NA.AN1.39", "x/null/N/A", "samm/006/006_1_2"],
            "part": ["jaffe", "x", "samm"],
            "label": [1, 0, 2],
            "prediction": [1, 1, 0],
            "p_a": [0.1234567890123, 1e-12, 0.5],
        }
    )
    path = tmp_path / "task.csv"
    write_task_predictions(path, written)
    pd.testing.assert_frame_equal(read_predictions(path), written, check_dtype=False)
    back = read_predictions(path)
    assert back["subject"].tolist() == ["NA", "null", "006"] and back["p_a"].tolist() == written["p_a"].tolist()
