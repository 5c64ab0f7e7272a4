"""Both face backends on real CASME II frames, the no-face error and fallback, and our torch NMS."""

import cv2
import numpy as np
import pytest
import torch

from conftest import shared_path
from microexp.errors import ConfigError, NoFaceError
from microexp.preprocess.faces import best_face, frontal_face_detector, get_detector
from microexp.preprocess.mtcnn import nms
from microexp.preprocess.video import list_frames, read_frame


@pytest.fixture(scope="module")
def casme2_frames():
    return list_frames(shared_path("frames", "casme2_sequence"))


def plausible_face_geometry(face, image_shape):
    """Eyes left-to-right on one line, nose below them, everything inside the frame's neighbourhood."""
    left, right = face.eye_centres()
    height, width = image_shape
    assert left[0] < right[0] and abs(left[1] - right[1]) < 0.15 * (right[0] - left[0])
    assert 0 < left[0] < width and 0 < right[0] < width and 0 < left[1] < height / 2


def test_dlib_finds_a_face_and_68_landmarks_on_every_frame(casme2_frames):
    detector = get_detector("dlib")
    for path in casme2_frames:
        image = read_frame(path)
        face = best_face(image, detector, path)
        assert face.landmarks.shape == (68, 2), path
        assert face.scheme == "ibug68" and face.score > 0
        plausible_face_geometry(face, image.shape)
        nose_tip, chin = face.landmarks[30], face.landmarks[8]
        assert face.eye_centres()[0][1] < nose_tip[1] < chin[1]


def test_mtcnn_finds_a_face_and_5_points_on_every_frame(casme2_frames):
    """MTCNN's O-Net gives 5 points (eyes, nose, mouth corners), not 68."""
    detector = get_detector("mtcnn")
    dlib_detector = get_detector("dlib")
    for path in casme2_frames:
        image = read_frame(path)
        face = best_face(image, detector, path)
        assert face.landmarks.shape == (5, 2), path
        assert face.scheme == "mtcnn5" and face.score > 0.9
        plausible_face_geometry(face, image.shape)
        eyes, nose, mouth = face.landmarks[:2], face.landmarks[2], face.landmarks[3:]
        assert eyes[:, 1].max() < nose[1] < mouth[:, 1].min()
        # both backends put the eye centres within a few pixels of each other (eye distance ~160 px)
        dlib_eyes = np.array(best_face(image, dlib_detector, path).eye_centres())
        assert np.abs(np.array(face.eye_centres()) - dlib_eyes).max() < 6, path


@pytest.mark.parametrize("backend", ["dlib", "mtcnn"])
def test_a_frame_without_a_face_is_named_in_the_error(tmp_path, backend):
    path = tmp_path / "img7.jpg"
    blank = cv2.GaussianBlur(np.random.default_rng(0).integers(0, 255, (200, 160), dtype=np.uint8), (0, 0), 5)
    cv2.imwrite(str(path), blank)
    with pytest.raises(NoFaceError, match=rf"frame .*img7.jpg: the {backend} backend found no face"):
        best_face(read_frame(path), get_detector(backend), path)


def test_the_frame_fallback_treats_the_whole_frame_as_the_face(tmp_path):
    blank = np.full((120, 100), 128, np.uint8)
    face = best_face(blank, get_detector("dlib"), "img1.jpg", fallback="frame")
    assert face.scheme == "frame" and face.landmarks is None
    assert face.box.tolist() == [0, 0, 99, 119]
    with pytest.raises(ConfigError, match="fallback 'guess' is unknown"):
        best_face(blank, get_detector("dlib"), "img1.jpg", fallback="guess")


def test_unknown_backend_is_refused():
    with pytest.raises(
        ConfigError, match=r"face backend 'haar' is unknown; choose one of \('dlib', 'mtcnn'\)"
    ):
        get_detector("haar")


def test_nms_keeps_the_best_of_overlapping_boxes_and_separate_ones():
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [2, 2, 5, 5]], dtype=torch.float)
    scores = torch.tensor([0.8, 0.9, 0.7, 0.95])
    assert nms(boxes, scores, 0.5).tolist() == [3, 1, 2]  # the small box barely overlaps by union
    assert nms(boxes, scores, 0.5, mode="min").tolist() == [3, 2]  # nested in box 1 by the smaller area
    assert nms(torch.zeros(0, 4), torch.zeros(0), 0.5).numel() == 0


@pytest.mark.parametrize("view", ["slice of a larger frame", "mirror image", "one channel of RGB"])
def test_dlib_finds_the_face_in_a_non_contiguous_view(view):
    """dlib reads a numpy view's buffer as if it were contiguous: without a copy it saw sheared pixels and
    silently found no face. The astronaut portrait ships with scikit-image."""
    from skimage import data

    rgb = data.astronaut()
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    image = {
        "slice of a larger frame": np.pad(grey, 60)[60:-60, 60:-60],
        "mirror image": grey[:, ::-1],
        "one channel of RGB": rgb[..., 1],
    }[view]
    assert not image.flags["C_CONTIGUOUS"]
    detector = get_detector("dlib")
    faces = detector.detect(image)
    assert faces, f"no face found in the {view}"
    expected = detector.detect(np.ascontiguousarray(image))[0]
    np.testing.assert_allclose(faces[0].box, expected.box)
    np.testing.assert_allclose(faces[0].landmarks, expected.landmarks)


def test_the_cached_hog_detector_finds_what_dlibs_own_finds(tmp_path, casme2_frames, monkeypatch):
    """The first load writes dlib's binary serialisation; the next reads it without building the detector
    again, and gives the same boxes and scores."""
    import dlib

    reference = dlib.get_frontal_face_detector()
    frontal_face_detector(tmp_path)
    assert len(list(tmp_path.glob("dlib-*-frontal_face_detector.svm"))) == 1

    def slow_path():
        raise AssertionError("the detector was built again although the cache holds it")

    monkeypatch.setattr(dlib, "get_frontal_face_detector", slow_path)
    cached = frontal_face_detector(tmp_path)
    for path in casme2_frames:
        image = read_frame(path)
        image = np.ascontiguousarray(image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
        found, expected = cached.run(image, 0, 0.0), reference.run(image, 0, 0.0)
        assert [str(r) for r in found[0]] == [str(r) for r in expected[0]] and found[0], path
        np.testing.assert_array_equal(found[1], expected[1])


def test_a_damaged_detector_cache_is_rebuilt(tmp_path, caplog):
    frontal_face_detector(tmp_path)
    (cached,) = tmp_path.glob("*.svm")
    cached.write_bytes(cached.read_bytes()[:1000])
    with caplog.at_level("WARNING", logger="microexp.preprocess.faces"):
        frontal_face_detector(tmp_path)
    assert "unreadable" in caplog.text and cached.stat().st_size > 1000
