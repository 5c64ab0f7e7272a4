"""Videos made at test time: a real face photograph (scikit-image's astronaut) on a textured background, present
on the frames asked for, written with PyAV in the codec, frame rate or time stamps a test needs."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from functools import cache
from pathlib import Path

import av
import cv2
import numpy as np

from microexp.data.synthetic_render import (
    SyntheticSettings,
    _grid,
    _raised_cosine,
    default_face_image,
    expression_field,
    face_frame,
    make_subjects,
)
from microexp.models.linear import LinearFlowClassifier
from microexp.models.registry import get_model_info
from microexp.training.bundle import save_bundle
from microexp.training.trained import TrainedModel

WIDTH, HEIGHT = 256, 192


@cache
def _face() -> np.ndarray:
    return cv2.cvtColor(face_frame(default_face_image(), 176), cv2.COLOR_RGB2GRAY)


def background(seed: int = 0) -> np.ndarray:
    """A smooth random texture: no face, but enough structure that a track sliding onto it is not trivially
    empty."""
    noise = np.random.default_rng(seed).normal(128, 40, (HEIGHT // 8, WIDTH // 8)).astype(np.float32)
    return np.clip(cv2.resize(noise, (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC), 0, 255).astype(np.uint8)


def face_frames(face: Sequence[bool], seed: int = 0) -> np.ndarray:
    """(T, HEIGHT, WIDTH) grey frames: the face where ``face[t]``, swaying by a pixel; background elsewhere."""
    base, face_image = background(seed), _face()
    noise = np.random.default_rng(seed + 1)
    frames = []
    for t, present in enumerate(face):
        frame = base.copy()
        if present:
            shift = np.float32([[1, 0, 40 + np.sin(t / 7.0)], [0, 1, 8]])
            placed = cv2.warpAffine(face_image, shift, (WIDTH, HEIGHT), borderValue=0)
            mask = cv2.warpAffine(np.ones_like(face_image), shift, (WIDTH, HEIGHT), borderValue=0).astype(bool)
            frame[mask] = placed[mask]
        frames.append(np.clip(frame + noise.normal(0, 1.5, frame.shape), 0, 255).astype(np.uint8))
    return np.stack(frames)


def expression_video(
    face: Sequence[bool], expression: str, onset: int, apex: int, offset: int, amplitude: float = 3.0
) -> np.ndarray:
    """(T, 192, 192) grey frames of a synthetic subject (a real face, re-identified) moving ``expression``
    by up to ``amplitude`` pixels from ``onset`` through ``apex`` to ``offset``; background where not ``face``."""
    subject = make_subjects(SyntheticSettings(), numbers=[1])[0]
    grey = cv2.cvtColor(subject.neutral, cv2.COLOR_RGB2GRAY)
    field = expression_field(subject, expression, np.random.default_rng(0))
    course = _raised_cosine(np.arange(len(face), dtype=np.float64), onset, apex, offset)
    x, y = _grid(grey.shape[0])
    empty = cv2.resize(background(), grey.shape[::-1])
    noise = np.random.default_rng(1)
    frames = []
    for t, present in enumerate(face):
        motion = amplitude * course[t] * field
        frame = cv2.remap(grey, (x - motion[..., 0]).astype(np.float32), (y - motion[..., 1]).astype(np.float32),
                          cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT) if present else empty
        frames.append(np.clip(frame + noise.normal(0, 1.0, frame.shape), 0, 255).astype(np.uint8))
    return np.stack(frames)


def write_frames(
    path: Path, frames: np.ndarray, fps: float = 30, codec: str = "libx264", times: Sequence[float] | None = None
) -> Path:
    """Grey frames as a video; ``times`` (seconds) set each frame's time stamp (a variable frame rate)."""
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": "12", "bf": "0"}
        if times is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        for index, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.repeat(image[..., None], 3, axis=2), format="rgb24")
            if times is not None:
                frame.pts, frame.time_base = int(round(times[index] * 1000)), Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def damage_packet(path: Path, number: int) -> None:
    """Overwrite the picture data of the ``number``-th video packet with random bytes (its time stamp kept)."""
    with av.open(str(path)) as container:
        packets = [(p.pos, p.size) for p in container.demux(video=0) if p.size]
    data = bytearray(path.read_bytes())
    position, size = packets[number]
    start = data.index(b"\xff\xd8", position)  # the JPEG image inside the container's block
    data[start : position + size - 2] = np.random.default_rng(0).integers(0, 256, position + size - 2 - start,
                                                                          dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))


def linear_bundle(path: Path) -> Path:
    """A linear-model bundle fitted on random flows: valid in every way, its labels meaningless (the tests that
    use it check the video path, not accuracy; tests/test_demo.py checks that)."""
    rng = np.random.default_rng(0)
    x = rng.normal(128, 30, (30, 3, 28, 28)).astype(np.float32)
    y = np.arange(30) % 3
    model = LinearFlowClassifier().fit(x.reshape(30, -1), y)
    info = get_model_info("linear")
    trained = TrainedModel("linear", 3, info.inputs, model, {"flow": np.zeros(3)}, {"flow": np.ones(3)}, {})
    return save_bundle(path, trained, classes=("negative", "positive", "surprise"), dataset="random",
                       preprocessing={"inputs": {}}, train_config={})
