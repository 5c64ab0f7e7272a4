"""The synthetic micro-expression generator: seeded, honest about its amplitude, read by the CASME II adapter."""

import dataclasses
import warnings

import cv2
import numpy as np
import pytest

from microexp.data.base import frame_number
from microexp.data.casme2 import CASME2
from microexp.data.registry import load_table
from microexp.data.synthetic_render import CLASSES, EXPRESSIONS, SyntheticSettings, make_subjects, render_clip
from microexp.data.synthetic_write import write_database
from microexp.errors import ConfigError, NoFaceError

TINY = SyntheticSettings(subjects=2, clips_per_class=1, fps=100)
STILL = dataclasses.replace(TINY, head_motion=0.0, blink_probability=0.0, flicker=0.0, noise=0.0)


@pytest.fixture(scope="module")
def subject():
    return make_subjects(TINY, numbers=[1])[0]


def tree_bytes(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.jpg"))}


def test_same_seed_writes_the_same_database_and_another_seed_does_not(tmp_path):
    first = write_database(tmp_path / "a", TINY)
    again = write_database(tmp_path / "b", TINY)
    other = write_database(tmp_path / "c", dataclasses.replace(TINY, seed=1))
    assert tree_bytes(first) == tree_bytes(again)
    assert len(tree_bytes(first)) > 6 * 10  # every frame of 6 clips, not just the key frames
    assert tree_bytes(first) != tree_bytes(other)
    # the sheet's content too (xlsx files carry a timestamp, so compare what they hold)
    assert load_table("synthetic", first).samples[["clip", "onset", "apex", "offset"]].equals(
        load_table("synthetic", again).samples[["clip", "onset", "apex", "offset"]]
    )


def test_the_casme2_adapter_reads_the_tree_and_the_synthetic_label_map_labels_it(tmp_path):
    root = write_database(tmp_path / "db", TINY)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no annotation fix or onset == apex warning on generated clips
        casme2 = CASME2(root).load("5class")
        table = load_table("synthetic", root)
    assert len(casme2) == len(table) == 2 * len(CLASSES)
    assert set(casme2.samples["emotion"]) == {emotion for emotion, _ in EXPRESSIONS.values()}
    assert table.classes == CLASSES and table.subjects == ["sub01", "sub02"]
    for row in table.samples.itertuples():
        assert EXPRESSIONS[table.classes[row.label]][0] == row.emotion
        assert row.onset < row.apex < row.offset
        assert frame_number(row.frames[0]) < row.onset  # a few still frames before the onset, as in CASME II
        duration = (row.offset - row.onset) / TINY.fps
        assert 0.1 <= duration <= 0.5 + 2 / TINY.fps


def test_amplitude_zero_without_nuisances_leaves_every_frame_still(subject):
    clip = render_clip(subject, "surprise", dataclasses.replace(STILL, amplitude=0.0), np.random.default_rng(3))
    assert np.abs(clip.frames.astype(int) - clip.frames[0]).max() <= 1  # rounding only


def test_expression_motion_is_bounded_by_the_amplitude_and_peaks_at_the_apex(subject):
    clip = render_clip(subject, "positive", STILL, np.random.default_rng(3))
    frames = clip.frames.mean(axis=3)
    change = [np.abs(frame - frames[clip.onset]).mean() for frame in frames]
    assert change[clip.onset] == 0 and np.argmax(change) == clip.apex
    # the same clip at twice the amplitude moves the face about twice as far (so amplitude is pixels)
    def peak_flow(c):
        grey = [cv2.cvtColor(c.frames[i], cv2.COLOR_RGB2GRAY) for i in (c.onset, c.apex)]
        flow = cv2.calcOpticalFlowFarneback(grey[0], grey[1], None, 0.5, 3, 15, 3, 5, 1.2, 0)
        return np.percentile(np.linalg.norm(flow, axis=2), 99.9)

    small = peak_flow(clip)
    double = dataclasses.replace(STILL, amplitude=2 * STILL.amplitude)
    large = peak_flow(render_clip(subject, "positive", double, np.random.default_rng(3)))
    assert 0.5 < small <= STILL.amplitude * 1.2 and 1.6 < large / small < 2.4


def test_a_written_database_is_reused_and_a_foreign_tree_is_refused(tmp_path):
    root = write_database(tmp_path / "db", TINY)
    stamp = (root / "synthetic.json").stat().st_mtime_ns
    write_database(root, TINY)
    assert (root / "synthetic.json").stat().st_mtime_ns == stamp
    foreign = tmp_path / "casme2"
    (foreign / "CASME2_RAW_selected" / "sub01").mkdir(parents=True)
    with pytest.raises(ConfigError, match="did not write"):
        write_database(foreign, TINY)


def test_an_image_without_a_face_is_a_clear_error(tmp_path):
    with pytest.raises(NoFaceError, match="the face image"):
        write_database(tmp_path / "db", TINY, image=np.full((300, 300, 3), 128, np.uint8))


def test_settings_outside_the_micro_range_are_rejected():
    with pytest.raises(ConfigError, match="amplitude"):
        SyntheticSettings(amplitude=20)
    with pytest.raises(ConfigError, match="at least 2 subjects"):
        SyntheticSettings(subjects=1)
