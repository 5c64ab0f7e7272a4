"""What each adapter declares its pictures to be (the database's face crops, or frames and photographs
whose face is to be found), and how a composite of several databases keeps each part's declaration."""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pytest
from copies import JAFFE_FIVE, write_casme2, write_jaffe, write_samm, write_smic
from frames import write_key_frames

from microexp.data.casme2 import CASME2
from microexp.data.ckplus import CKPlus, CKPlus48, CKPlusStills
from microexp.data.composite import MEGC2019Composite
from microexp.data.fer2013 import FER2013
from microexp.data.jaffe import JAFFE
from microexp.data.megc2019 import MEGC2019
from microexp.data.samm import SAMM
from microexp.data.smic import SMIC
from microexp.errors import ConfigError, NoFaceError
from microexp.evaluation.study import evaluate, inputs_by_dataset, make_run_spec
from microexp.inputs import InputSettings, InputSpec, load_inputs


def test_adapters_declare_crops_and_full_pictures(tmp_path):
    assert CASME2(tmp_path, layout="cropped").face_geometry == "as-cropped"
    assert CASME2(tmp_path).face_geometry == "detect"
    assert SAMM(tmp_path / "SAMM_CROP").face_geometry == "as-cropped"
    assert SAMM(tmp_path / "SAMM").face_geometry == "detect"
    assert SAMM(tmp_path / "SAMM", cropped=True).face_geometry == "as-cropped"
    assert SMIC(tmp_path / "SMIC_all_cropped" / "HS").face_geometry == "as-cropped"
    assert SMIC(tmp_path / "SMIC_all_raw" / "HS").face_geometry == "detect"
    assert SMIC(tmp_path / "HS", cropped=True).face_geometry == "as-cropped"
    for adapter in (CKPlus, CKPlusStills, JAFFE):
        assert adapter.face_geometry == "detect", adapter.name  # full photographs
    for adapter in (CKPlus48, FER2013):
        assert adapter.face_geometry == "as-cropped", adapter.name


def test_every_row_carries_its_databases_declaration(tmp_path, tiny_megc2019):
    write_jaffe(tmp_path / "jaffe", JAFFE_FIVE)
    assert set(JAFFE(tmp_path / "jaffe").load().samples["face_geometry"]) == {"detect"}
    assert set(MEGC2019(tiny_megc2019).load().samples["face_geometry"]) == {"as-cropped"}  # its apex crops


def _composite_with_some_crops(root):
    """CASME II with its Cropped/ frames, SAMM's cropped copy, SMIC's raw HS folder only."""
    write_casme2(root / "CASME2")
    write_key_frames(CASME2(root / "CASME2", layout="cropped"), lambda row, n: f"reg_img{n}.jpg", "megc2019")
    write_samm(root / "SAMM_CROP")
    write_smic(root / "SMIC" / "HS")
    return root


def test_a_composite_reads_the_crops_a_copy_has_and_resolves_each_part(tmp_path):
    root = _composite_with_some_crops(tmp_path / "composite")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = MEGC2019Composite(root).load()
    samples = table.samples
    assert all("Cropped" in frames[0] for frames in samples.loc[samples["dataset"] == "casme2", "frames"])
    assert all("SAMM_CROP" in frames[0] for frames in samples.loc[samples["dataset"] == "samm", "frames"])
    declared = {
        "casme2": {"face_geometry": "as-cropped", "still_faces": "as-given"},
        "samm": {"face_geometry": "as-cropped", "still_faces": "as-given"},
        "smic": {"face_geometry": "detect", "still_faces": "detect"},
    }
    assert inputs_by_dataset(table, InputSettings()) == declared
    overridden = inputs_by_dataset(table, InputSettings(face_geometry="detect"))
    assert {part: entry["face_geometry"] for part, entry in overridden.items()} == dict.fromkeys(declared, "detect")


def test_the_run_folder_records_the_resolved_geometry_and_a_resume_checks_it(tmp_path, tiny_megc2019):
    spec = make_run_spec(dataset="megc2019", data_dir=tiny_megc2019, model="linear")
    evaluate(spec, tmp_path / "run")
    record = json.loads((tmp_path / "run" / "config.json").read_text())
    assert record["inputs"]["face_geometry"] == "auto"
    assert record["inputs_by_dataset"]["casme2"] == {"face_geometry": "as-cropped", "still_faces": "as-given"}
    overridden = make_run_spec(
        dataset="megc2019", data_dir=tiny_megc2019, model="linear", overrides=["inputs.face_geometry=detect"]
    )
    assert overridden.inputs.face_geometry == "detect"
    # the distributed flows were made once, by the composite's authors: a geometry cannot change them
    with pytest.raises(ConfigError, match="ships its flow inputs already made: inputs.face_geometry"):
        evaluate(overridden, tmp_path / "other")


def test_a_photograph_without_a_face_is_an_error_or_with_no_face_frame_a_warning(tmp_path):
    write_jaffe(tmp_path / "jaffe", JAFFE_FIVE[:2])  # flat grey images: no face
    table = JAFFE(tmp_path / "jaffe").load()
    apex = {"apex": InputSpec("apex", (1, 48, 48))}
    no_face = r"KA\.AN1\.1\.tiff: the dlib backend found no face in this photograph.*--set inputs.no_face=frame"
    with pytest.raises(NoFaceError, match=no_face):
        load_inputs(table, apex, InputSettings(), cache_dir=tmp_path / "cache")
    said = r"no face found in 2 photograph\(s\), used whole instead: .*KA\.AN1\.1\.tiff"
    for _ in range(2):  # the second build reads the cache, and says it again
        with pytest.warns(UserWarning, match=said):
            faces = load_inputs(table, apex, InputSettings(no_face="frame"), cache_dir=tmp_path / "cache")["apex"]
    assert faces.shape == (2, 1, 48, 48)
    np.testing.assert_array_equal(faces[1], np.full((1, 48, 48), 10.0))  # the whole flat photograph
    shutil.rmtree(tmp_path / "cache")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # as given, no face is looked for and nothing is said
        load_inputs(table, apex, InputSettings(still_faces="as-given"), cache_dir=tmp_path / "cache")
