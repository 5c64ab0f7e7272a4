"""`microexp datasets` and `microexp check`."""

from __future__ import annotations

from copies import write_casme2
from typer.testing import CliRunner

from microexp.cli import app
from microexp.data.registry import dataset_names, get_dataset

runner = CliRunner()


def test_datasets_lists_every_registered_database_and_label_map():
    result = runner.invoke(app, ["datasets"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    for name in dataset_names():
        assert name in result.output
        for label_map in get_dataset(name).label_maps:
            assert label_map in result.output


def make_copy(tmp_path):
    write_casme2(
        tmp_path,
        [
            [1, "EP02_01f", 46, 59, 86, "12", "happiness"],
            [1, "EP03_02", 131, 139, 161, "18", "others"],
            [2, "EP01_11f", 46, 60, 75, "4", "disgust"],
        ],
    )


def test_check_prints_counts_per_subject_and_class(tmp_path):
    make_copy(tmp_path)
    result = runner.invoke(
        app, ["check", "--dataset", "casme2", "--data-dir", str(tmp_path)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "casme2:5class: 3 clips, 2 subjects" in result.output
    assert "no problems found" in result.output
    lines = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") > 3}
    assert lines["sub01"].replace(" ", "").endswith("│1│0│0│0│1│2│")


def test_check_reports_problems_and_exits_1(tmp_path):
    make_copy(tmp_path)
    (tmp_path / "CASME2_RAW_selected" / "sub02" / "EP01_11f" / "img60.jpg").unlink()
    result = runner.invoke(
        app, ["check", "--dataset", "casme2", "--data-dir", str(tmp_path)], env={"COLUMNS": "300"}
    )
    assert result.exit_code == 1
    assert "sub02/EP01_11f" in result.output and "apex frame 60 is missing" in result.output


def test_check_unknown_dataset_is_a_config_error(tmp_path):
    result = runner.invoke(app, ["check", "--dataset", "nope", "--data-dir", str(tmp_path)])
    assert result.exit_code != 0
    assert "unknown dataset 'nope'" in str(result.exception)
