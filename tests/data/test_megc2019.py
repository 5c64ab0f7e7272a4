import pytest

from conftest import shared_path
from microexp.data.images import read_image
from microexp.data.megc2019 import MEGC2019
from microexp.data.splitters import LeaveOneSubjectOut, SubjectValidationSplit
from microexp.errors import DataError, DataNotFoundError


def test_real_composite_loads_with_official_counts():
    table = MEGC2019(shared_path("megc2019")).load()
    assert len(table) == 442 and len(table.subjects) == 68
    assert table.class_counts() == {"negative": 250, "positive": 109, "surprise": 83}
    parts = table.samples.groupby("dataset").size().to_dict()
    assert parts == {"smic": 164, "casme2": 145, "samm": 133}
    folds = list(LeaveOneSubjectOut().split(table))
    assert len(folds) == 68 and len({f.name for f in folds}) == 68
    assert "samm/006" in {f.name for f in folds}


def test_headerless_official_list_gives_the_same_table():
    root = shared_path("megc2019")
    headed = MEGC2019(root).load().samples
    official = MEGC2019(root, sheet="combined_3class_gt.csv").load().samples
    assert headed[["clip_id", "label", "flow_path"]].equals(official[["clip_id", "label", "flow_path"]])


def test_flow_paths_point_at_the_distributed_pngs(tiny_megc2019):
    table = MEGC2019(tiny_megc2019).load()
    pairs = zip(table.samples["clip_id"], table.samples["flow_path"], strict=True)
    flows = [read_image(path, mode="RGB", what=clip) for clip, path in pairs]
    assert all(flow.shape == (28, 28, 3) for flow in flows) and max(flow.max() for flow in flows) > 100


def test_missing_png_is_named(tiny_megc2019):
    victim = next((tiny_megc2019 / "flow_uvos_28").glob("*.png"))
    victim.unlink()
    with pytest.raises(DataNotFoundError, match=r"1 flow image\(s\) missing: .*" + victim.name.split("_")[0]):
        MEGC2019(tiny_megc2019).load()


def test_check_names_an_unreadable_png(tiny_megc2019):
    table = MEGC2019(tiny_megc2019).load()
    broken = table.samples["flow_path"].iloc[3]
    with open(broken, "wb") as handle:
        handle.write(b"not a png")
    (problem,) = MEGC2019(tiny_megc2019).check().problems
    assert problem.startswith(f"clip {table.samples['clip_id'].iloc[3]}: image {broken} cannot be read")


def test_unknown_label_names_the_line(tiny_megc2019):
    csv = tiny_megc2019 / "combined_3_class2_for_optical_flow.csv"
    lines = csv.read_text().splitlines()
    fields = lines[2].split(",")
    fields[3] = "7"
    lines[2] = ",".join(fields)
    csv.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"line 3 \(.*\): unknown label '7'"):
        MEGC2019(tiny_megc2019).load()


def test_wrong_data_dir(tmp_path):
    with pytest.raises(DataNotFoundError, match="does not exist; pass the folder"):
        MEGC2019(tmp_path / "nowhere").load()
    with pytest.raises(DataNotFoundError, match="MEGC2019 list not found"):
        MEGC2019(tmp_path).load()


def test_inner_validation_uses_training_subjects_only(tiny_megc2019):
    table = MEGC2019(tiny_megc2019).load()
    subjects = table.samples["subject"].to_numpy()
    for fold in LeaveOneSubjectOut().split(table):
        fit, val = SubjectValidationSplit(0.25, seed=1).split(subjects[fold.train])
        fit_subjects, val_subjects = set(subjects[fold.train][fit]), set(subjects[fold.train][val])
        assert val_subjects and not fit_subjects & val_subjects
        assert fold.name not in fit_subjects | val_subjects
