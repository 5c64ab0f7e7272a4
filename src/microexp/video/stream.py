"""A video read frame by frame, never whole: long footage costs the memory of one frame.

Each frame comes with its 0-based index and its time in seconds from the first frame, taken from the
presentation time stamps, so a variable-frame-rate recording keeps true times. Frames are converted straight to
grey (every later stage works on luminance) and only when asked for: a frame that analysis skips is decoded
(the codec needs it as a reference) but never converted. A packet the codec cannot decode is skipped with a
warning naming its index and time; its index is used up, so later frames keep their place in the video.
A folder of numbered frames streams the same way, its frames going by the number in their names.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from microexp.errors import DataError, DataNotFoundError, UnreadableFileError
from microexp.preprocess.video import frame_number, list_frames, read_frame

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VideoInfo:
    """What a source declares before it is decoded: frames are counted as the container states them."""

    source: str
    width: int
    height: int
    fps: float  # the average rate (frames / duration); a folder has none: NaN
    frames: int  # the container's count, 0 when it does not say; a folder's exact count


class StreamFrame:
    """One decoded frame; ``grey()`` converts it on first use."""

    __slots__ = ("index", "time", "_frame", "_grey")

    def __init__(self, index: int, time: float, frame: object, grey: np.ndarray | None = None) -> None:
        self.index = index
        self.time = time
        self._frame = frame
        self._grey = grey

    def grey(self) -> np.ndarray:
        """(H, W) uint8 luminance."""
        if self._grey is None:
            self._grey = self._frame.to_ndarray(format="gray")
        return self._grey

    def rgb(self) -> np.ndarray:
        """(H, W, 3) uint8, for overlays; a folder's frames are read again in colour."""
        if isinstance(self._frame, Path):
            return read_frame(self._frame, colour=True)
        return self._frame.to_ndarray(format="rgb24")


def probe(source: str | Path) -> VideoInfo:
    """Size, average frame rate and frame count of a video file or a frame folder, without decoding."""
    source = Path(source)
    if source.is_dir():
        paths = list_frames(source)
        height, width = read_frame(paths[0]).shape[:2]
        return VideoInfo(str(source), width, height, math.nan, len(paths))
    with _open(source) as container:
        stream = _video_stream(container, source)
        rate = stream.average_rate or stream.guessed_rate
        return VideoInfo(
            str(source),
            int(stream.codec_context.width),
            int(stream.codec_context.height),
            float(rate) if rate else math.nan,
            int(stream.frames or 0),
        )


def stream_frames(source: str | Path, start_time: float = 0.0) -> Iterator[StreamFrame]:
    """Every frame of a video file (or frame folder) in presentation order, from ``start_time`` seconds.

    Starting later seeks to the key frame before ``start_time`` and decodes from there; indices stay those of
    the whole video only when reading from the start, so a seek is for re-reading frames whose times are
    known (:func:`read_span`)."""
    source = Path(source)
    if source.is_dir():
        yield from _folder_frames(source)
        return
    import av  # decoding libraries load slowly; only video users pay for them

    with _open(source) as container:
        stream = _video_stream(container, source)
        stream.thread_type = "AUTO"  # frame threads: decoding is most of a long video's time
        base = stream.time_base
        origin = stream.start_time if stream.start_time is not None else 0
        if start_time > 0:
            container.seek(int(origin + start_time / base), stream=stream, backward=True)
        index = 0
        packets = container.demux(stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except av.error.FFmpegError as error:
                # a damaged container stops demuxing: what was read stands, the rest is named
                logger.warning("%s: the container is damaged after frame %d (%s); the rest is not read",
                               source, index, error)
                break
            try:
                decoded = packet.decode()
            except av.error.FFmpegError as error:
                when = float((packet.pts - origin) * base) if packet.pts is not None else math.nan
                logger.warning("%s: frame %d (%.3f s) cannot be decoded (%s); skipped", source, index, when, error)
                index += 1
                continue
            for frame in decoded:
                pts = frame.pts if frame.pts is not None else frame.dts
                when = float((pts - origin) * base) if pts is not None else math.nan
                yield StreamFrame(index, when, frame)
                index += 1
        if index == 0:
            raise DataError(f"video {source} holds no decodable frame; check the file")


def read_span(
    source: str | Path, times: np.ndarray, first: int, last: int, folder: str | Path
) -> tuple[np.ndarray, list[int]]:
    """The grey frames ``first``..``last`` of a video whose frame times (per index, NaN: not decodable) are
    ``times``, read again by seeking: (N, H, W) uint8 and their indices. The frames go to a file in
    ``folder`` and come back memory-mapped, so a span costs memory only for the frames a builder reads
    (a flow reads two of a few hundred). A frame that could not be decoded is absent again."""
    wanted = {float(times[i]): i for i in range(first, last + 1) if not math.isnan(times[i])}
    path = Path(folder) / f"span-{first}-{last}.u8"
    indices: list[int] = []
    shape: tuple[int, ...] = ()
    source = Path(source)
    frames = _folder_frames(source) if source.is_dir() else stream_frames(source, start_time=float(times[first]))
    with path.open("wb") as sink:
        for frame in frames:
            index = frame.index if source.is_dir() else wanted.get(frame.time)
            if index is not None and first <= index <= last:
                image = frame.grey()
                shape = image.shape
                sink.write(np.ascontiguousarray(image).tobytes())
                indices.append(index)
            if (frame.index if source.is_dir() else frame.time) > (last if source.is_dir() else times[last]):
                break
    if not indices:
        raise UnreadableFileError(f"video {source}: frames {first}–{last} could not be read again; check the file")
    return np.memmap(path, dtype=np.uint8, mode="r", shape=(len(indices), *shape)), indices


def _folder_frames(folder: Path) -> Iterator[StreamFrame]:
    for position, path in enumerate(list_frames(folder)):
        yield StreamFrame(frame_number(path), float(position), path, read_frame(path))


def _open(path: Path):
    import av

    if not path.is_file():
        raise DataNotFoundError(f"video {path} does not exist; give the path of a video file")
    try:
        return av.open(str(path))
    except av.error.FFmpegError as error:
        raise UnreadableFileError(f"video {path} cannot be opened ({error}); check the file") from error


def _video_stream(container, path: Path):
    if not container.streams.video:
        raise DataError(f"{path} holds no video stream; give a video file")
    return container.streams.video[0]
