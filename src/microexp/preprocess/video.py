"""Reading clips as the databases ship them: folders of numbered frames, or video files.

Frames are returned as uint8 arrays, grey (H, W) by default because every later stage (detection,
flow) works on luminance; ``colour=True`` gives RGB (H, W, 3).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from microexp.data.frame_names import frame_number
from microexp.data.images import damage
from microexp.errors import DataError, DataNotFoundError, UnreadableFileError
from microexp.files import atomic_path

FRAME_SUFFIXES = (".jpg", ".jpeg", ".bmp", ".png")


def natural_key(path: str | Path) -> tuple:
    """Sort key that orders digit runs by value, so img46.jpg < img100.jpg and reg_img9 < reg_img10."""
    name = Path(path).name
    return tuple(int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name))


def list_frames(folder: str | Path) -> list[Path]:
    """Frame files of a clip folder in temporal (natural numeric) order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataNotFoundError(
            f"frame folder {folder} does not exist; pass the folder that holds the frames"
        )
    frames = sorted((p for p in folder.iterdir() if p.suffix.lower() in FRAME_SUFFIXES), key=natural_key)
    if not frames:
        raise DataError(
            f"frame folder {folder} holds no frames; expected files ending in {', '.join(FRAME_SUFFIXES)}"
        )
    return frames


def find_frame(frames: Sequence[Path], number: int) -> int:
    """Position in ``frames`` of the frame the database numbers ``number``."""
    numbers = [frame_number(p) for p in frames]
    if number not in numbers:
        where = Path(frames[0]).parent if frames else "the clip"
        raise DataError(
            f"frame number {number} is not in {where} (frames {min(numbers, default='-')}"
            f"–{max(numbers, default='-')}); check the onset/apex/offset annotation"
        )
    return numbers.index(number)


def clip_range(frames: Sequence[Path], onset: int, apex: int, offset: int | None = None) -> list[Path]:
    """Frames from onset to offset (or to apex when no offset), checking the annotation's order."""
    if onset > apex:
        raise DataError(
            f"clip {Path(frames[0]).parent}: onset {onset} is after apex {apex}; expected onset ≤ apex"
        )
    if offset is not None and apex > offset:
        raise DataError(
            f"clip {Path(frames[0]).parent}: apex {apex} is after offset {offset}; expected apex ≤ offset"
        )
    first = find_frame(frames, onset)
    last = find_frame(frames, apex if offset is None else offset)
    return list(frames[first : last + 1])


def read_frame(path: str | Path, colour: bool = False) -> np.ndarray:
    """One frame as uint8 grey (H, W) or RGB (H, W, 3); a truncated or damaged file raises, naming it."""
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"frame {path} does not exist")
    data = path.read_bytes()
    problem = damage(data)
    if problem is not None:
        raise UnreadableFileError(f"frame {path} is damaged ({problem}); replace or re-extract it")
    # decoded by OpenCV, as the cached inputs always were: PIL's JPEG decoding differs in the last bits
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR if colour else cv2.IMREAD_GRAYSCALE)
    if image is None or image.size == 0:
        raise UnreadableFileError(f"frame {path} cannot be decoded as an image; replace or re-extract it")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB) if colour else image


def read_frames(paths: Sequence[str | Path], colour: bool = False) -> np.ndarray:
    """Frames stacked as (T, H, W[, 3]); all frames of a clip must share one size."""
    if not paths:
        raise DataError("no frames given; a clip needs at least one frame")
    images = []
    for path in paths:
        image = read_frame(path, colour)
        if images and image.shape != images[0].shape:
            raise DataError(
                f"frame {path} is {image.shape[1]}×{image.shape[0]} but {paths[0]} is "
                f"{images[0].shape[1]}×{images[0].shape[0]}; all frames of a clip must share one size"
            )
        images.append(image)
    return np.stack(images)


def read_video(path: str | Path, start: int = 0, stop: int | None = None, colour: bool = False) -> np.ndarray:
    """Frames ``start`` ≤ i < ``stop`` (0-based decode order) of a video file, as (T, H, W[, 3])."""
    import av  # decoding libraries load slowly; only video users pay for them

    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"video {path} does not exist")
    images = []
    try:
        with av.open(str(path)) as container:
            for index, frame in enumerate(container.decode(video=0)):
                if stop is not None and index >= stop:
                    break
                if index >= start:
                    images.append(frame.to_ndarray(format="rgb24" if colour else "gray"))
    except MemoryError:
        raise  # av's out-of-memory error is an FFmpegError too, but the file is not at fault
    except (av.error.FFmpegError, IndexError) as error:
        raise UnreadableFileError(f"video {path} cannot be decoded ({error}); check the file") from error
    if not images:
        raise DataError(f"video {path} has no frames in range {start}..{stop}")
    return np.stack(images)


def write_video(path: str | Path, frames: np.ndarray, fps: int, crf: int = 10) -> Path:
    """Encode RGB (T, H, W, 3) or grey (T, H, W) uint8 frames as an H.264 video.

    ``crf`` 10 is near-lossless: the default 23 smooths away motions of a pixel or less, which is all a
    micro-expression has. Odd sides are padded by one pixel (4:2:0 chroma needs even sides).
    """
    import av

    if frames.ndim == 3:
        frames = np.repeat(frames[..., None], 3, axis=3)
    if frames.ndim != 4 or frames.shape[3] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
        raise DataError(f"write_video takes uint8 frames (T, H, W[, 3]), got {frames.dtype} {frames.shape}")
    height, width = frames.shape[1:3]
    frames = np.pad(frames, ((0, 0), (0, height % 2), (0, width % 2), (0, 0)), mode="edge")
    path = Path(path)
    with atomic_path(path) as temporary, av.open(str(temporary), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf)}
        for image in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())  # flush the encoder's delayed frames
    return path
