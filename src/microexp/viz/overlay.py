"""A prediction drawn on its clip: face box, onset and apex marks, label and class probabilities."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

# Overlays play at 25 fps whatever the clip's rate: a 200 fps micro-expression becomes 8x slow motion,
# slow enough to see.
PLAYBACK_FPS = 25
WIDTH = 480  # clips are upscaled to at least this width so the text stays readable on small face crops
GREEN, YELLOW, WHITE = (60, 200, 60), (250, 200, 40), (255, 255, 255)


def _text(image: np.ndarray, text: str, origin: tuple[int, int], colour=WHITE, scale: float = 0.5) -> None:
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)


def draw_prediction(frames: np.ndarray, numbers: Sequence[int], prediction) -> np.ndarray:
    """RGB frames (T, H, W, 3) with ``prediction`` (a ClipPrediction) drawn on every frame; the onset and
    apex frames are labelled, and the face box turns yellow from onset to apex."""
    factor = max(1, -(-WIDTH // frames.shape[2]))
    out = []
    best = max(prediction.probabilities.values())
    for number, frame in zip(numbers, frames, strict=True):
        image = cv2.resize(frame, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR)
        x0, y0, x1, y1 = (int(round(v * factor)) for v in prediction.face_box)
        moving = prediction.onset <= number <= prediction.apex
        cv2.rectangle(image, (x0, y0), (x1, y1), YELLOW if moving else GREEN, 2)
        # a dark panel under the text keeps it readable on any background (outlined text smears in 4:2:0 video)
        panel = image[: 56 + 20 * len(prediction.probabilities), :230]
        panel[:] = (panel * 0.35).astype(np.uint8)
        phase = {prediction.onset: "onset", prediction.apex: "apex"}.get(number, "")
        _text(image, f"frame {number} {phase}", (8, 20))
        _text(image, f"{prediction.label}", (8, 44), GREEN, 0.7)
        for row, (name, p) in enumerate(prediction.probabilities.items()):
            y = 66 + 20 * row
            cv2.rectangle(image, (8, y - 11), (8 + int(100 * p), y + 3), GREEN if p == best else WHITE, -1)
            _text(image, f"{name} {p:.2f}", (114, y))
        out.append(image)
    return np.stack(out)
