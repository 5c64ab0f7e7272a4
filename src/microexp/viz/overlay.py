"""A prediction drawn on its clip: face box, onset and apex marks, label and class probabilities."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

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


def write_analysis_overlay(analysis, path: str | Path) -> Path:
    """The analysed video (an :class:`~microexp.video.analyse.Analysis`) again, at its own frame rate, with the
    tracked face box on every frame (yellow inside an interval, green outside, none where no face was found)
    and each interval's label; streamed, so a long video costs one frame of memory."""
    import av

    from microexp.files import atomic_path
    from microexp.video.stream import stream_frames

    events = {}
    for event in analysis.events:
        for index in range(event.onset, event.offset + 1):
            events[index] = event
    path = Path(path)
    rate = Fraction(analysis.info.fps).limit_denominator(1001)
    with atomic_path(path) as temporary, av.open(str(temporary), mode="w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height = analysis.info.width // 2 * 2, analysis.info.height // 2 * 2
        stream.pix_fmt = "yuv420p"
        for frame in stream_frames(analysis.source):
            image = np.ascontiguousarray(frame.rgb()[: stream.height, : stream.width])
            index = frame.index
            event = events.get(index)
            if index < analysis.frames and analysis.has_face[index]:
                x0, y0, x1, y1 = (int(round(v)) for v in analysis.boxes[index])
                cv2.rectangle(image, (x0, y0), (x1, y1), YELLOW if event else GREEN, 2)
            else:
                _text(image, "no face", (8, 44), YELLOW)
            _text(image, f"frame {index}  {frame.time:.3f} s", (8, 20))
            if event is not None:
                _text(image, f"{event.label or 'unclassified'} ({event.onset}-{event.offset})", (8, 44), YELLOW, 0.7)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return path
