"""The per-emotion saliency figure: one map per image for its own class, class means, a PNG."""

from __future__ import annotations

import numpy as np
from PIL import Image

from microexp.inputs import ArrayDataset
from microexp.training.config import TrainConfig
from microexp.training.engine import train_model
from microexp.viz.saliency_grid import class_saliency, draw_saliency_grid


def test_class_saliency_and_figure(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (12, 1, 48, 48)).astype(np.float32)
    y = np.array([0, 1, 2] * 4)
    x[y == 1, :, 30:40, 10:38] = 255.0  # class 1 has a bright "mouth"
    trained = train_model(
        "deep_emotion",
        ArrayDataset({"apex": x}, y, [f"s{i}" for i in range(12)]),
        num_classes=3,
        seed=0,
        config=TrainConfig(epochs=3, batch_size=4),
    )
    result = class_saliency(trained, x, y, ("anger", "happy", "surprise"))
    assert result.maps.shape == (12, 48, 48)
    assert np.isclose(result.maps.reshape(12, -1).max(axis=1), 1.0).all()  # each map scaled to its maximum
    assert np.allclose(result.mean_face(1), x[y == 1, 0].mean(axis=0))
    path = draw_saliency_grid(result, tmp_path / "figure" / "saliency.png", examples=2)
    with Image.open(path) as image:
        assert image.size[0] > 300 and image.size[1] > 300
    single = draw_saliency_grid(result, tmp_path / "happy.png", only=["happy"])
    with Image.open(single) as image:
        assert image.size[1] < 300  # one row
