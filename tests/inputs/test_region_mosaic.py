"""HTNet's input: four flow blocks around the eyes and mouth corners, tiled 2 x 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from microexp.errors import ConfigError
from microexp.inputs.region_mosaic import AREA_POINTS, area_centres, region_mosaic

COMPOSITE = Path(__file__).resolve().parents[3] / "shared" / "data" / "megc2019"


def numbered(side: int = 28) -> np.ndarray:
    """An image whose every cell holds its own (row, column, row * side + column)."""
    rows, cols = np.mgrid[0:side, 0:side]
    return np.stack([rows, cols, rows * side + cols], axis=-1)


def test_blocks_are_cut_around_the_centres_and_tiled_in_order():
    image = numbered()
    centres = np.array([[9.0, 10.0], [19.2, 10.4], [11.0, 20.0], [17.0, 19.6]])  # (x, y)
    mosaic = region_mosaic(image, centres)
    assert mosaic.shape == (28, 28, 3)
    # top-left block: rows 10-7 .. 10+6, columns 9-7 .. 9+6 of the image, as HTNet's [c-7, c+7)
    assert (mosaic[:14, :14, 0] == np.arange(3, 17)[:, None]).all()
    assert (mosaic[:14, :14, 1] == np.arange(2, 16)[None, :]).all()
    # top-right: the right eye, its centre rounded to (x 19, y 10)
    assert mosaic[0, 14, 0] == 3 and mosaic[0, 14, 1] == 12
    # bottom row: the mouth corners (x 11, y 20) and (x 17, y 20)
    assert mosaic[14, 0, 0] == 13 and mosaic[14, 0, 1] == 4
    assert mosaic[14, 14, 0] == 13 and mosaic[14, 14, 1] == 10


def test_centres_near_a_border_keep_the_block_inside_the_image():
    image = numbered()
    mosaic = region_mosaic(image, np.array([[-3.0, 1.0], [40.0, 2.0], [0.0, 30.0], [27.0, 27.0]]))
    # HTNet keeps centres in [7, 21] on the 28 grid: the blocks start at 0 or at 14
    assert mosaic[0, 0, 0] == 0 and mosaic[0, 0, 1] == 0
    assert mosaic[0, 14, 1] == 14 and mosaic[0, 27, 1] == 27
    assert mosaic[14, 0, 0] == 14 and mosaic[27, 27, 0] == 27


def test_an_odd_sided_image_is_refused():
    with pytest.raises(ConfigError, match="even-sided image, got 27×27"):
        region_mosaic(np.zeros((27, 27, 3)), np.zeros((4, 2)))


def test_area_centres_average_the_eye_points_and_take_the_mouth_corners():
    landmarks = np.zeros((68, 2))
    landmarks[36:42] = [[10.0, 12.0]] * 5 + [[16.0, 18.0]]
    landmarks[42:48] = [20.0, 12.0]
    landmarks[48], landmarks[54] = [11.0, 21.0], [18.0, 22.0]
    centres = area_centres(landmarks)
    assert list(AREA_POINTS) == ["left eye", "right eye", "left mouth corner", "right mouth corner"]
    assert np.allclose(centres, [[11.0, 13.0], [20.0, 12.0], [11.0, 21.0], [18.0, 22.0]])


@pytest.mark.skipif(not COMPOSITE.is_dir(), reason=f"the MEGC2019 composite is not at {COMPOSITE}")
def test_a_composite_clip_gets_its_eyes_above_its_mouth(tmp_path):
    from microexp.data.images import read_image
    from microexp.data.megc2019 import MEGC2019
    from microexp.inputs.region_mosaic import ShippedRegionMosaic
    from microexp.inputs.spec import InputSettings

    row = MEGC2019(COMPOSITE).load().samples.iloc[0].to_dict()
    mosaic, info = ShippedRegionMosaic().build(row, (3, 28, 28), InputSettings())
    (left_eye, right_eye, left_corner, right_corner) = np.array(info["area_centres"])
    assert left_eye[0] < right_eye[0] and left_corner[0] < right_corner[0]
    assert max(left_eye[1], right_eye[1]) < min(left_corner[1], right_corner[1])
    flow = read_image(row["flow_path"], mode="RGB", what="test").transpose(2, 0, 1)
    expected = region_mosaic(flow.transpose(1, 2, 0), np.array(info["area_centres"])).transpose(2, 0, 1)
    assert mosaic.shape == (3, 28, 28) and np.array_equal(mosaic, expected)
    with pytest.raises(ConfigError, match=r"declare the input as \(3, 28, 28\)"):
        ShippedRegionMosaic().build(row, (3, 32, 32), InputSettings())
