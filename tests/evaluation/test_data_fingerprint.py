"""A run folder records the data it read; resuming on changed data is refused with what changed."""

import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image

from conftest import subprocess_env
from microexp.evaluation.report import DATA_FILE, TASKS_DIR
from microexp.evaluation.study import evaluate, make_run_spec
from microexp.inputs.fingerprint import HASHES_FILE, FileHashes, describe_changes

SHEET = "combined_3_class2_for_optical_flow.csv"


def _evaluate(data_dir, out, *extra):
    command = [
        sys.executable, "-m", "microexp", "evaluate", "--dataset", "megc2019", "--data-dir", str(data_dir),
        "--model", "linear", "--seeds", "0", "--workers", "1", "--cache-dir", str(out.parent / "cache"),
        "--out", str(out), *extra,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, env=subprocess_env())


def _relabel(data_dir, rows):
    """Give the sheet's data rows ``rows`` (1-based after the header) the next class; their clip ids."""
    lines = (data_dir / SHEET).read_text().splitlines()
    clips = []
    for row in rows:
        fields = lines[row].split(",")
        fields[3] = str((int(fields[3]) + 1) % 3)
        lines[row] = ",".join(fields)
        clips.append(f"{fields[0]}/{fields[1]}/{fields[2]}")
    (data_dir / SHEET).write_text("\n".join(lines) + "\n")
    return clips


def test_the_issues_scenario_interrupted_then_relabelled_is_refused(tiny_megc2019, tmp_path):
    """Issue 20: an evaluate killed after most folds, four labels changed, the same command rerun: it
    kept the finished folds and mixed old labels into predictions.csv. Now it is refused."""
    out = tmp_path / "run"
    first = _evaluate(tiny_megc2019, out)
    assert first.returncode == 0, first.stderr
    # what a kill after 4 of the 6 folds leaves: some task files, no pooled files
    for path in [out / "summary.json", out / "predictions.csv", *out.glob("megc_seed*.txt")]:
        path.unlink()
    for path in sorted((out / TASKS_DIR).rglob("*.csv"))[4:]:
        path.unlink()
    kept = {path: path.stat().st_mtime_ns for path in (out / TASKS_DIR).rglob("*.csv")}
    assert len(kept) == 4

    changed = _relabel(tiny_megc2019, [1, 2, 13, 30])
    rerun = _evaluate(tiny_megc2019, out)
    assert rerun.returncode == 2, rerun.stdout + rerun.stderr
    assert "Traceback" not in rerun.stderr
    assert "resuming" not in rerun.stdout + rerun.stderr  # said only once the data are checked to match
    [error] = [line for line in rerun.stderr.splitlines() if line.startswith("error:")]  # beside data warnings
    assert f"{out} holds a run on other data: label of 4 clip(s) changed ({changed[0]}: " in error
    assert "Its 4 finished task(s) were trained and scored on the data as it was: pass --overwrite" in error
    assert {path: path.stat().st_mtime_ns for path in (out / TASKS_DIR).rglob("*.csv")} == kept  # none run
    assert not (out / "predictions.csv").exists()

    redone = _evaluate(tiny_megc2019, out, "--overwrite")
    assert redone.returncode == 0, redone.stderr
    predictions = (out / "predictions.csv").read_text().splitlines()
    sheet = [line.split(",") for line in (tiny_megc2019 / SHEET).read_text().splitlines()[1:]]
    labels = {f"{f[0]}/{f[1]}/{f[2]}": f[3] for f in sheet}
    header = predictions[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=True)) for line in predictions[1:]]
    assert all(row["label"] == labels[row["clip_id"]] for row in rows)  # the new labels, every one


def test_a_replaced_input_file_is_named_even_with_the_same_annotations(tiny_megc2019, tmp_path):
    spec = make_run_spec(dataset="megc2019", data_dir=tiny_megc2019, model="linear")
    evaluate(spec, tmp_path / "run", cache_dir=tmp_path / "cache")
    assert json.loads((tmp_path / "run" / DATA_FILE).read_text())["clips"]
    flow = sorted((tiny_megc2019 / "flow_uvos_28").iterdir())[0]
    Image.fromarray(np.zeros((28, 28, 3), np.uint8)).save(flow)  # a recomputed flow, same name
    try:
        evaluate(spec, tmp_path / "run", cache_dir=tmp_path / "cache")
    except ValueError as error:
        message = str(error)
    else:
        raise AssertionError("a resume on a replaced input file was accepted")
    assert "holds a run on other data: the input files of 1 clip(s) (" in message


def test_clips_added_and_removed_and_classes_are_described():
    old = {"classes": ["a", "b"], "clips": {"x/1/c": {"label": "0", "files": "f"}, "x/2/c": {"label": "1"}}}
    new = {"classes": ["a", "b", "c"], "clips": {"x/1/c": {"label": "0", "files": "g"}, "x/3/c": {"label": "1"}}}
    assert describe_changes(old, old) == []
    assert describe_changes(old, new) == [
        "classes ['a', 'b'] in the folder, ['a', 'b', 'c'] now",
        "the input files of 1 clip(s) (x/1/c) changed",
        "1 clip(s) (x/2/c) no longer in the data",
        "1 clip(s) (x/3/c) new in the data",
    ]


def test_file_hashes_are_reused_while_size_and_time_are_unchanged(tmp_path):
    path = tmp_path / "frame.png"
    path.write_bytes(b"one")
    first = FileHashes(tmp_path / "cache")
    digest = first.digest(path)
    first.save()
    assert (tmp_path / "cache" / HASHES_FILE).is_file()
    stamp = path.stat()
    path.write_bytes(b"two")  # same size; time put back: only a cached digest can still say "one"
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert FileHashes(tmp_path / "cache").digest(path) == digest
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 1))
    assert FileHashes(tmp_path / "cache").digest(path) != digest


def test_a_run_folder_from_before_data_json_resumes_and_records_it(tiny_megc2019, tmp_path):
    spec = make_run_spec(dataset="megc2019", data_dir=tiny_megc2019, model="linear")
    evaluate(spec, tmp_path / "run")
    (tmp_path / "run" / DATA_FILE).unlink()
    summary, complete = evaluate(spec, tmp_path / "run")
    assert complete and (tmp_path / "run" / DATA_FILE).is_file()
