"""Input builders: what they make, how the cache is keyed, the per-sample dataset, augmentations by kind."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import shared_path
from microexp.data.megc2019 import MEGC2019
from microexp.data.schema import build_table
from microexp.errors import ConfigError, DataError
from microexp.inputs import InputSettings, InputSpec, SampleDataset, build_inputs, input_column, read_info
from microexp.inputs.build import build_clip_inputs
from microexp.inputs.flow import ComputedFlow
from microexp.inputs.registry import builder_for
from microexp.inputs.transforms import mirror_where
from microexp.preprocess.flow import normalise
from microexp.preprocess.pipeline import Clip, FlowSettings, clip_flow
from microexp.preprocess.video import list_frames

FLOW = {"flow": InputSpec("flow", (3, 28, 28))}
DIS = InputSettings(flow_method="dis")


@pytest.fixture(scope="module")
def casme2():
    return list_frames(shared_path("frames", "casme2_sequence"))


def clip_table(frames, clips=((1, 10, None), (2, 6, None))):
    rows = [
        {
            "dataset": "t",
            "subject": f"s{i}",
            "clip_id": f"t/s{i}/c{i}",
            "clip": f"c{i}",
            "label": i % 2,
            "onset": onset,
            "apex": apex,
            "offset": offset,
            "frames": tuple(str(p) for p in frames),
        }
        for i, (onset, apex, offset) in enumerate(clips)
    ]
    return build_table("t", ("a", "b"), rows)


def test_computed_flow_is_the_onset_apex_flow_scaled_as_the_composite(casme2, tmp_path):
    built = build_inputs(clip_table(casme2), FLOW, DIS, cache_dir=tmp_path)
    array = np.load(built.samples[input_column("flow")].iloc[0])
    expected = normalise(clip_flow(Clip(tuple(casme2), 1, 10), FlowSettings(method="dis")), "minmax")
    np.testing.assert_array_equal(array, expected.transpose(2, 0, 1).astype(np.float32))
    info = read_info(built.samples[input_column("flow")].iloc[0])
    assert info["apex"] == 10 and info["apex_method"] == "annotation" and len(info["face_box"]) == 4


def test_one_clip_built_from_its_row_is_the_entry_the_table_builds(casme2, tmp_path):
    """predict builds one clip from a row dict, without a table: same builder, key and array."""
    table = clip_table(casme2, [(1, 10, None)])
    row = {key: value for key, value in table.samples.iloc[0].items() if key in ("clip_id", "onset", "apex", "frames")}
    paths = build_clip_inputs(row, FLOW, DIS, cache_dir=tmp_path / "row")
    built = build_inputs(table, FLOW, DIS, cache_dir=tmp_path / "table")
    from_table = built.samples[input_column("flow")].iloc[0]
    assert paths["flow"].split("/row/")[1] == from_table.split("/table/")[1]
    np.testing.assert_array_equal(np.load(paths["flow"]), np.load(from_table))
    with pytest.raises(DataError, match="clip t/s0/c0: input .* needs one of the columns .* which it does not have"):
        build_clip_inputs({"clip_id": "t/s0/c0"}, {"frames": InputSpec("frames", (8, 1, 64, 64))})


def test_the_key_follows_content_and_the_settings_a_builder_reads_not_paths(casme2, tmp_path):
    moved = tmp_path / "moved"
    moved.mkdir()
    for path in casme2:
        shutil.copy(path, moved / path.name)

    def key(frames, settings):
        table = build_inputs(clip_table(frames, [(1, 10, None)]), FLOW, settings, cache_dir=tmp_path / "cache")
        return table.samples[input_column("flow")].iloc[0]

    first = key(casme2, DIS)
    assert key(list_frames(moved), DIS) == first  # a moved database still hits
    assert key(casme2, InputSettings(flow_method="dis", frame_sampling="tim")) == first  # flow ignores it
    assert key(casme2, InputSettings(flow_method="dis", norm="magnitude")) != first
    (moved / "010.jpg").write_bytes((moved / "009.jpg").read_bytes())  # a corrected apex frame
    assert key(list_frames(moved), DIS) != first


def test_a_second_build_reads_the_cache_and_progress_is_reported(casme2, tmp_path, monkeypatch):
    calls = []
    table = clip_table(casme2)
    first = build_inputs(table, FLOW, DIS, cache_dir=tmp_path, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 2), (2, 2)]

    def no_recompute(*args):
        raise AssertionError("a cached input was recomputed")

    monkeypatch.setattr(ComputedFlow, "build", no_recompute)
    again = build_inputs(table, FLOW, DIS, cache_dir=tmp_path)
    assert again.samples[input_column("flow")].tolist() == first.samples[input_column("flow")].tolist()


@pytest.mark.slow
def test_worker_processes_build_the_same_inputs(casme2, tmp_path):
    table = clip_table(casme2, [(1, n, None) for n in (4, 7, 10)])
    serial = SampleDataset(build_inputs(table, FLOW, DIS, cache_dir=tmp_path / "a"), FLOW).arrays()
    parallel = SampleDataset(build_inputs(table, FLOW, DIS, cache_dir=tmp_path / "b", workers=2), FLOW).arrays()
    np.testing.assert_array_equal(serial["flow"], parallel["flow"])


def test_without_an_apex_the_flow_builder_spots_it_and_says_so(casme2, tmp_path):
    built = build_inputs(clip_table(casme2, [(1, None, 10)]), FLOW, DIS, cache_dir=tmp_path)
    assert built.samples["apex_spotted"].iloc[0] in range(2, 11)


def test_aligned_frames_and_the_apex_face_from_frames(casme2, tmp_path):
    specs = {"frames": InputSpec("frames", (4, 1, 64, 64)), "apex": InputSpec("apex", (1, 48, 48))}
    table = clip_table(casme2, [(1, 7, 10)])
    sample = SampleDataset(build_inputs(table, specs, cache_dir=tmp_path), specs)[0]
    frames, apex = sample["inputs"]["frames"], sample["inputs"]["apex"]
    assert frames.shape == (4, 1, 64, 64) and apex.shape == (1, 48, 48)
    assert 0 <= frames.min() and frames.max() <= 255 and frames.std() > 10  # a face, not a flat crop
    assert not np.array_equal(frames[0], frames[-1])  # onset and offset differ
    assert sample["label"] == 0 and sample["clip_id"] == "t/s0/c0" and sample["domain"] == "t"
    resampled = SampleDataset(
        build_inputs(table, specs, InputSettings(frame_sampling="tim"), cache_dir=tmp_path), specs
    )[0]["inputs"]["frames"]
    np.testing.assert_allclose(resampled[0], frames[0], atol=0.5)  # both start at the onset


def test_the_composite_flow_is_read_as_distributed(tiny_megc2019, tmp_path):
    table = MEGC2019(tiny_megc2019).load()
    path = table.samples["flow_path"].iloc[3]
    with Image.open(path) as image:
        expected = np.asarray(image.convert("RGB"))[..., :2].transpose(2, 0, 1)
    specs = {"flow": InputSpec("flow", (2, 28, 28))}
    sample = SampleDataset(build_inputs(table, specs, cache_dir=tmp_path), specs)[3]
    np.testing.assert_array_equal(sample["inputs"]["flow"], expected)


def test_a_table_that_cannot_give_an_input_says_what_it_lacks(tiny_megc2019):
    table = MEGC2019(tiny_megc2019).load()
    with pytest.raises(
        DataError, match=r"input frames 8x1x64x64 needs one of the columns \['frame_images', 'frames'\]"
    ):
        builder_for(InputSpec("frames", (8, 1, 64, 64)), table.samples, table.name)
    with pytest.raises(ConfigError, match="input builder 'landmark' is unknown"):
        builder_for(InputSpec("landmark", (68, 2)), table.samples, table.name)
    with pytest.raises(ConfigError, match="frames-shaped"):
        build_inputs(clip_table([]), {"frames": InputSpec("frames", (8, 64, 64))})


def test_a_mirrored_clip_is_mirrored_in_every_input_alike():
    flow = torch.arange(2 * 3 * 2 * 2, dtype=torch.float32).reshape(2, 3, 2, 2)
    frames = torch.arange(2 * 4 * 1 * 2 * 2, dtype=torch.float32).reshape(2, 4, 1, 2, 2)
    out = mirror_where(
        {"flow": flow, "frames": frames}, {"flow": "flow", "frames": "frames"}, torch.tensor([True, False])
    )
    assert torch.equal(out["flow"][0, 0], 255 - flow[0, 0].flip(-1))  # u negated
    assert torch.equal(out["flow"][0, 1:], flow[0, 1:].flip(-1))  # v and strain only move
    assert torch.equal(out["frames"][0], frames[0].flip(-1))  # every frame alike
    assert torch.equal(out["flow"][1], flow[1]) and torch.equal(out["frames"][1], frames[1])


def test_landmark_displacements_are_small_moves_in_crop_pixels(casme2, tmp_path):
    specs = {"landmarks": InputSpec("landmarks", (136,))}
    moves = SampleDataset(build_inputs(clip_table(casme2), specs, cache_dir=tmp_path), specs).arrays()["landmarks"]
    assert moves.shape == (2, 136) and np.isfinite(moves).all()
    assert 0 < np.abs(moves).max() < 5  # a micro-expression over a few frames: pixels, not tens of pixels
    still = clip_table(casme2, [(1, 1, None)])  # onset = apex: nothing moved
    assert not SampleDataset(build_inputs(still, specs, cache_dir=tmp_path), specs).arrays()["landmarks"].any()


def test_a_feature_vector_is_never_mirrored(monkeypatch):
    from microexp.inputs import ArrayDataset
    from microexp.models import registry
    from microexp.models.layers import Classifier
    from microexp.training.config import TrainConfig
    from microexp.training.engine import train_model

    # the built-in models first: registered into the copy, they would vanish with it when the test ends
    registry._ensure_builtin_models_loaded()
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # the test's model stays here

    @registry.register_model("vector_probe", inputs={"landmarks": (136,)})
    def vector_probe(*, num_classes: int, in_chans: int) -> Classifier:
        """A linear layer on landmark moves."""
        model = Classifier()
        model.forward = torch.nn.Linear(in_chans, num_classes)
        return model

    train = ArrayDataset({"landmarks": np.zeros((4, 136))}, [0, 1, 0, 1], list("abcd"))
    for flip in ({"augment_flip": True}, {"test_flip": True}):
        with pytest.raises(ConfigError, match="no mirror image"):
            train_model("vector_probe", train, num_classes=2, seed=0, config=TrainConfig(epochs=1, **flip))


def test_a_packed_table_gives_the_same_samples_without_the_cache(tiny_megc2019, tmp_path):
    from microexp.inputs.dataset import pack_inputs

    table = build_inputs(MEGC2019(tiny_megc2019).load(), FLOW, cache_dir=tmp_path / "cache")
    expected = SampleDataset(table, FLOW).arrays()["flow"]
    packed = pack_inputs(table, ["flow"])
    shutil.rmtree(tmp_path / "cache")  # a worker on another machine has no cache
    np.testing.assert_array_equal(SampleDataset(packed, FLOW).arrays()["flow"], expected)
    assert SampleDataset(packed, FLOW)[5]["inputs"]["flow"].shape == (3, 28, 28)


def test_shipped_flows_are_preferred_whatever_order_the_builders_were_imported_in(tiny_megc2019, monkeypatch):
    """A table with both distributed flow files and frames reads the distributed files; which builder served
    it once depended on which builder module a process happened to import first."""
    from microexp.inputs import registry
    from microexp.inputs.flow_png import DistributedFlow

    table = MEGC2019(tiny_megc2019).load()
    samples = table.samples.assign(frames=[(p,) for p in table.samples["flow_path"]])
    builder_for(FLOW["flow"], samples)  # the built-in builders registered
    monkeypatch.setitem(registry._BUILDERS, "flow", [])
    registry.register_builder(ComputedFlow)  # as if inputs.flow were imported before inputs.flow_png
    registry.register_builder(DistributedFlow)
    assert isinstance(builder_for(FLOW["flow"], samples), DistributedFlow)
