"""The dynamic-image builder: all frames of the span, one alignment, rank-pooled, cached like any input."""

import numpy as np
import pytest

from conftest import shared_path
from microexp.data.schema import build_table
from microexp.inputs import InputSettings, InputSpec, build_inputs, input_column, read_info
from microexp.inputs.clip import aligned, clip_frames
from microexp.preprocess.dynamic import dynamic_image, to_unit_range
from microexp.preprocess.video import list_frames

SPEC = {"dynamic_image": InputSpec("dynamic_image", (1, 64, 64))}


@pytest.fixture(scope="module")
def casme2():
    return list_frames(shared_path("frames", "casme2_sequence"))


def _table(frames, onset=1, apex=None, offset=8):
    row = {
        "dataset": "t", "subject": "s1", "clip_id": "t/s1/c1", "clip": "c1", "label": 0,
        "onset": onset, "apex": apex, "offset": offset, "frames": tuple(str(p) for p in frames),
    }
    return build_table("t", ("a",), [row])


def test_the_dynamic_image_pools_every_frame_from_onset_to_offset(casme2, tmp_path):
    table = _table(casme2)
    built = build_inputs(table, SPEC, InputSettings(), cache_dir=tmp_path)
    path = built.samples[input_column("dynamic_image")].iloc[0]
    array = np.load(path)
    row = table.samples.iloc[0].to_dict()
    crops, _ = aligned(clip_frames(row), list(range(0, 8)), InputSettings(), size=64)
    expected = (255.0 * to_unit_range(dynamic_image(crops))).astype(np.float32)
    assert array.shape == (1, 64, 64) and array.dtype == np.float32
    np.testing.assert_array_equal(array[0], expected)
    assert array.min() == 0 and array.max() == 255
    assert len(read_info(path)["face_box"]) == 4


def test_a_shorter_span_is_another_cache_entry_and_a_rebuild_reads_the_cache(casme2, tmp_path, monkeypatch):
    whole = build_inputs(_table(casme2), SPEC, InputSettings(), cache_dir=tmp_path)
    short = build_inputs(_table(casme2, offset=4), SPEC, InputSettings(), cache_dir=tmp_path)
    first, second = (t.samples[input_column("dynamic_image")].iloc[0] for t in (whole, short))
    assert first != second and not np.array_equal(np.load(first), np.load(second))
    from microexp.inputs import dynamic_image as module

    monkeypatch.setattr(module, "aligned", lambda *a, **k: pytest.fail("a cached dynamic image was rebuilt"))
    again = build_inputs(_table(casme2), SPEC, InputSettings(), cache_dir=tmp_path)
    assert again.samples[input_column("dynamic_image")].iloc[0] == first
