"""A video read frame by frame, never whole: long footage costs the memory of one frame.

Each frame comes with its 0-based index and its time in seconds from the first frame, taken from the
presentation time stamps, so a variable-frame-rate recording keeps true times. Frames are converted straight to
grey (every later stage works on luminance) and only when asked for: a frame that analysis skips is decoded
(the codec needs it as a reference) but never converted. A packet the codec cannot decode is skipped with a
warning naming its index and time; its index is used up, so later frames keep their place in the video.
A folder of numbered frames streams the same way, its frames going by the number in their names.
"""

from __future__ import annotations

import bisect
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
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
        """(H, W) uint8 luminance, as ``to_ndarray(format="gray")`` gives it."""
        if self._grey is None:
            self._grey = _luminance(self._frame)
        return self._grey

    def rgb(self) -> np.ndarray:
        """(H, W, 3) uint8, for overlays; a folder's frames are read again in colour."""
        if isinstance(self._frame, Path):
            return read_frame(self._frame, colour=True)
        return self._frame.to_ndarray(format="rgb24")


# 8-bit YUV formats whose first plane is the luminance: reading it costs nothing, where FFmpeg's conversion
# to grey takes a millisecond a 640×480 frame (a fifth of the time a 200 fps video allows). Limited-range
# ("MPEG", 16-235) luminance is stretched to 0-255 as that conversion does, through the same rounding.
_PLANAR_YUV = ("yuv420p", "yuv422p", "yuv444p", "yuvj420p", "yuvj422p", "yuvj444p", "nv12")
_LIMITED_TO_FULL = np.clip(np.round((np.arange(256) - 16) * 255 / 219), 0, 255).astype(np.uint8)
_FULL_RANGE = 2  # AVCOL_RANGE_JPEG


def _luminance(frame) -> np.ndarray:
    name = frame.format.name
    if name not in _PLANAR_YUV:
        return frame.to_ndarray(format="gray")
    plane = frame.planes[0]
    luma = np.frombuffer(plane, np.uint8).reshape(frame.height, plane.line_size)[:, : frame.width]
    if name.startswith("yuvj") or frame.color_range == _FULL_RANGE:
        return luma.copy()
    return cv2.LUT(luma, _LIMITED_TO_FULL)


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


def stream_frames(source: str | Path, start_time: float = 0.0, warn: bool = True) -> Iterator[StreamFrame]:
    """Every frame of a video file (or frame folder) in presentation order, from ``start_time`` seconds.

    Starting later seeks to the key frame before ``start_time`` and decodes from there; indices stay those of
    the whole video only when reading from the start, so a seek is for re-reading frames whose times are
    known (:func:`read_span`). ``warn``: name the frames that cannot be decoded (a re-read does not: the
    first pass has named them, and frames just after a seek can lack their references)."""
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
        frames = _FrameCounter(source, origin, base, warn)
        packets = container.demux(stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except av.error.FFmpegError as error:
                # a damaged container stops demuxing: what was read stands, the rest is named
                logger.warning("%s: the container is damaged after frame %d (%s); the rest is not read",
                               source, frames.index - 1, error)
                break
            frames.demuxed(packet)
            try:
                decoded = packet.decode()
            except av.error.FFmpegError as error:
                frames.failed(packet, error)
                continue
            for frame in decoded:
                yield frames.decoded(frame)
        frames.finish()
        index = frames.index
        if index == 0:
            raise DataError(f"video {source} holds no decodable frame; check the file")


class SpilledFrames:
    """Grey frames of one size written to a file in ``folder`` as they come, read back memory-mapped: a span of
    a few hundred frames then costs memory only for the frames a builder reads (a flow reads two)."""

    def __init__(self, folder: str | Path, name: str) -> None:
        self.path = Path(folder) / f"{name}.u8"
        self._sink = self.path.open("wb")
        self.indices: list[int] = []
        self._shape: tuple[int, ...] | None = None

    def add(self, index: int, image: np.ndarray) -> None:
        if self._shape is None:
            self._shape = image.shape
        elif image.shape != self._shape:
            raise DataError(f"{self.path.name}: frame {index} is {image.shape}, the first was {self._shape}")
        self._sink.write(np.ascontiguousarray(image, dtype=np.uint8).tobytes())
        self.indices.append(index)

    def __len__(self) -> int:
        return len(self.indices)

    def frames(self) -> np.ndarray:
        """(N, H, W) uint8, read-only; valid while ``folder`` exists."""
        self._sink.close()
        return np.memmap(self.path, dtype=np.uint8, mode="r", shape=(len(self.indices), *self._shape))


class _FrameCounter:
    """Gives each decoded frame its index in the video: the rank of its time stamp among the packets'. A frame
    the codec could not decode (it raised, or it silently produced nothing, as MJPEG does for a damaged
    image) leaves a gap that is named in a warning, so the frames after it keep their true indices. Frames
    come out in presentation order, so only the packets not yet shown are remembered: memory stays flat."""

    def __init__(self, source: Path, origin: int, base, warn: bool = True) -> None:
        self.source, self.origin, self.base, self.warn = source, origin, base, warn
        self.index = 0  # of the next frame
        self._pending: list[int] = []  # time stamps of packets demuxed and not yet shown, sorted
        self._errors: dict[int, str] = {}

    def _seconds(self, pts: int | None) -> float:
        return float((pts - self.origin) * self.base) if pts is not None else math.nan

    def demuxed(self, packet) -> None:
        # a packet before the stream's start (an edit list's lead-in, flagged discard) is decoded for reference
        # and never shown: it is not a frame of the video
        if packet.size and packet.pts is not None and not packet.is_discard and packet.pts >= self.origin:
            bisect.insort(self._pending, packet.pts)

    def failed(self, packet, error: Exception) -> None:
        if packet.pts is not None:
            self._errors[packet.pts] = str(error)
        else:
            self._skip(None, str(error))

    def _skip(self, pts: int | None, why: str | None) -> None:
        self.index += 1
        if not self.warn:
            return
        logger.warning(
            "%s: frame %d (%.3f s) cannot be decoded (%s); skipped", self.source, self.index - 1, self._seconds(pts),
            why or "the codec gave no picture for it",
        )

    def decoded(self, frame) -> StreamFrame:
        pts = frame.pts
        if pts is not None and pts in self._pending:
            while self._pending[0] != pts:  # earlier packets that gave no frame
                missing = self._pending.pop(0)
                self._skip(missing, self._errors.pop(missing, None))
            self._pending.pop(0)
        shown = StreamFrame(self.index, self._seconds(pts if pts is not None else frame.dts), frame)
        self.index += 1
        return shown

    def finish(self) -> None:
        for missing in self._pending:
            self._skip(missing, self._errors.pop(missing, None))
        self._pending.clear()


def read_span(
    source: str | Path, times: np.ndarray, first: int, last: int, folder: str | Path
) -> tuple[np.ndarray, list[int]]:
    """The grey frames ``first``..``last`` of a video whose frame times (per index, NaN: not decodable) are
    ``times``, read again by seeking: (N, H, W) uint8 memory-mapped from a file in ``folder``, and their
    indices. A frame that could not be decoded is absent again, so N can be below last - first + 1."""
    source = Path(source)
    spill = SpilledFrames(folder, f"span-{first}-{last}")
    if source.is_dir():
        # only the span's images are decoded: a long recording's folder holds thousands
        for path in list_frames(source):
            if first <= frame_number(path) <= last:
                spill.add(frame_number(path), read_frame(path))
    else:
        wanted = {float(times[i]): i for i in range(first, last + 1) if not math.isnan(times[i])}
        for frame in stream_frames(source, start_time=float(times[first]), warn=False):
            index = wanted.get(frame.time)
            if index is not None:
                spill.add(index, frame.grey())
            if frame.time > times[last]:
                break
    if not len(spill):
        raise UnreadableFileError(f"video {source}: frames {first}–{last} could not be read again; check the file")
    return spill.frames(), spill.indices


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
