"""Face geometry: a clip's frames have their face detected and aligned ("detect"), or they are a database's
face crops, resized whole to the square ("as-cropped", as the MEGC2019 composite's flows were made);
"auto" follows what the row's database declares."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import shared_path
from microexp.data.schema import build_table
from microexp.errors import ConfigError, DataError, NoFaceError
from microexp.inputs import InputSettings, InputSpec, build_inputs, input_column, read_info
from microexp.inputs.build import entry_key
from microexp.inputs.registry import builder_for
from microexp.preprocess.align import align_frames
from microexp.preprocess.pipeline import face_transform
from microexp.preprocess.video import list_frames

FLOW = {"flow": InputSpec("flow", (3, 28, 28))}
MAGNITUDE = {"norm": "magnitude", "flow_method": "farneback"}


def moving_blob(width=200, height=100, shift=(2.0, 1.0), count=3):
    """Textured frames without a face, ``width`` x ``height``; a blob moves by ``shift`` px per frame."""
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.uniform(0, 255, (height * 3, width * 3)).astype(np.float32), (0, 0), 3)
    frames = []
    for i in range(count):
        matrix = np.float32([[1, 0, -width + shift[0] * i], [0, 1, -height + shift[1] * i]])
        frames.append(cv2.warpAffine(texture, matrix, (width, height)))
    frames = np.stack(frames)
    frames = (frames - frames.min()) / (frames.max() - frames.min()) * 255
    return frames.round().astype(np.uint8)


def blob_table(frames, geometry=None):
    row = {
        "dataset": "crops",
        "subject": "s1",
        "clip_id": "crops/s1/c1",
        "clip": "c1",
        "label": 0,
        "onset": 0,
        "apex": len(frames) - 1,
        "frame_images": frames,
        "frame_numbers": tuple(range(len(frames))),
    }
    if geometry is not None:
        row["face_geometry"] = geometry
    return build_table("crops", ("a", "b"), [row])


def test_as_cropped_resizes_the_whole_frame_to_the_square_and_looks_for_no_face():
    frame = moving_blob()[0]
    face, matrix = face_transform(frame, "blob", geometry="as-cropped", size=128)
    assert face.scheme == "frame" and face.landmarks is None
    crop = align_frames(frame[None], matrix, 128)[0]
    resized = cv2.resize(frame, (128, 128), interpolation=cv2.INTER_LINEAR)
    assert np.abs(crop.astype(int) - resized).max() <= 1  # the same pixels as a plain resize
    with pytest.raises(NoFaceError, match="frame blob: the dlib backend found no face"):
        face_transform(frame, "blob", geometry="detect", size=128)


def test_a_declared_crop_gives_the_flow_in_square_pixels_without_detection(tmp_path):
    """A 2:1 frame whose content moves (2, 1) px: resized whole to 128 px, u shrinks by 128/200 and v grows
    by 128/100, so both read 1.28 px."""
    table = blob_table(moving_blob(count=2), "as-cropped")
    built = build_inputs(table, FLOW, InputSettings(**MAGNITUDE), cache_dir=tmp_path)
    path = built.samples[input_column("flow")].iloc[0]
    flow = np.load(path)[:, 8:20, 8:20]  # inside, away from the frame's edges
    u, v = ((np.median(flow[c]) / 127.5 - 1) * 2.0 for c in (0, 1))
    assert u == pytest.approx(1.28, abs=0.1) and v == pytest.approx(1.28, abs=0.1)
    assert read_info(path)["face_scheme"] == "frame"
    with pytest.raises(NoFaceError, match="found no face"):  # the same clip, undeclared: a face is looked for
        build_inputs(blob_table(moving_blob(count=2)), FLOW, InputSettings(**MAGNITUDE), cache_dir=tmp_path)


def test_auto_is_the_rows_declaration_and_the_cache_key_holds_the_resolved_value():
    table = blob_table(moving_blob(), "as-cropped")
    row = table.samples.to_dict("records")[0]
    spec = FLOW["flow"]
    builder = builder_for(spec, table.samples)

    def key(settings):
        resolved = settings.resolve_for_row(row)
        return entry_key(builder, spec, resolved, builder.sources(row, resolved))

    assert key(InputSettings()) == key(InputSettings(face_geometry="as-cropped"))
    assert key(InputSettings()) != key(InputSettings(face_geometry="detect"))
    assert InputSettings(face_geometry="detect").resolve_for_row(row).face_geometry == "detect"


@pytest.mark.parametrize(
    ("declared", "settings", "geometry", "still"),
    [
        (None, {}, "detect", "as-given"),  # undeclared: frames detect, shipped images as given
        ("detect", {}, "detect", "detect"),  # a full photograph (JAFFE, CK+)
        ("as-cropped", {}, "as-cropped", "as-given"),  # a face crop (CK+48, CASME II Cropped/)
        ("detect", {"still_faces": "as-given"}, "detect", "as-given"),
        ("as-cropped", {"face_geometry": "detect"}, "detect", "detect"),
        (None, {"face_geometry": "as-cropped", "still_faces": "detect"}, "as-cropped", "detect"),
    ],
)
def test_settings_resolve_for_a_row(declared, settings, geometry, still):
    resolved = InputSettings(**settings).resolve_for_row({"clip_id": "x", "face_geometry": declared})
    assert (resolved.face_geometry, resolved.still_faces) == (geometry, still)


def test_unknown_geometries_are_refused_naming_what_was_given():
    choices = r"\('auto', 'detect', 'as-cropped'\)"
    with pytest.raises(ConfigError, match=rf"face_geometry='cropped' is unknown; choose one of {choices}"):
        InputSettings(face_geometry="cropped")
    with pytest.raises(DataError, match="clip crops/s1/c1: column face_geometry holds 'crop'"):
        InputSettings().resolve_for_row({"clip_id": "crops/s1/c1", "face_geometry": "crop"})


def test_every_frame_builder_follows_the_geometry_on_real_crops(tmp_path):
    """The ten CASME II frames are the database's 280x340 face crops: as-cropped, every builder takes them
    whole (no face box inside the frame); detect finds the face and aligns on the eyes."""
    paths = tuple(str(p) for p in list_frames(shared_path("frames", "casme2_sequence")))
    specs = {
        "flow": InputSpec("flow", (3, 28, 28)),
        "frames": InputSpec("frames", (4, 1, 48, 48)),
        "apex": InputSpec("apex", (1, 48, 48)),
        "landmarks": InputSpec("landmarks", (136,)),
    }
    row = {"dataset": "casme2", "subject": "sub01", "clip_id": "c/s/1", "clip": "1", "label": 0}
    table = build_table("t", ("a", "b"), [{**row, "onset": 1, "apex": 10, "frames": paths}])
    built = {
        geometry: build_inputs(table, specs, InputSettings(face_geometry=geometry), cache_dir=tmp_path).samples
        for geometry in ("detect", "as-cropped")
    }
    for name in specs:
        detect, cropped = (built[g][input_column(name)].iloc[0] for g in ("detect", "as-cropped"))
        assert detect != cropped, name
        if name != "landmarks":  # the landmark points come from a detection in both
            assert read_info(cropped)["face_box"] == [0.0, 0.0, 279.0, 339.0], name
            assert read_info(detect)["face_scheme"] == "ibug68", name
    frame = cv2.imread(paths[-1], cv2.IMREAD_GRAYSCALE)
    apex = np.load(built["as-cropped"][input_column("apex")].iloc[0])[0]
    whole = cv2.resize(frame, (48, 48), interpolation=cv2.INTER_AREA)
    assert np.corrcoef(apex.ravel(), whole.ravel())[0, 1] > 0.98
    moves = np.load(built["as-cropped"][input_column("landmarks")].iloc[0])
    assert np.abs(moves).max() < 5  # a micro-expression moves landmarks by a few pixels of the crop
