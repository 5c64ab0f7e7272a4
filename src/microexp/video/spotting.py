"""Micro-expression spotting in a long video, one frame at a time, in flat memory.

The method is the feature-difference idea of the MEGC spotting baselines (Moilanen et al. 2014; Li et al.
2018) measured with optical flow on landmark regions, as MDMD (Wang et al. 2017) does:

1. each pushed face crop is shrunk to ``work_size`` pixels; DIS flow (ultrafast preset) from the crop
   ``k`` frames earlier to this one gives every pixel's displacement over ``k`` frames, where ``k`` is half
   the expected micro-expression duration (``duration`` seconds) at the video's frame rate;
2. the flow is averaged in each of the 36 landmark regions of :mod:`microexp.features.regions`, and the
   affine motion that best fits the regions (robustly: regions an expression moved are left out of the
   second fit) is subtracted, so what remains is the face's own deformation, not the head's translation,
   rotation or turn, nor the residual of the tracker's alignment;
3. the score of frame ``t`` is, per region, how far its position ``p`` went away from ``p(t - k)`` and
   came back by ``p(t + k)``: the smaller of ``p(t) - p(t-k)`` and ``p(t) - p(t+k)`` along their common
   direction (:func:`_excursion`). It is large when the face moves and returns within about ``2k`` frames,
   as a micro-expression does; small for a slow macro expression, a head turn or a drift (the two
   displacements point apart) and for a step or an event ``k`` frames away (one of them is 0);
4. regions are combined by the mean of the ``top_regions`` largest scores (a micro-expression moves a few
   regions, noise moves all a little); eye regions are weighted by ``eye_weight`` (0 by default) because
   blinks move the eyelids on the micro-expression's time scale, and an interval in which the eye regions
   moved more than the rest (``blink_ratio``) is a blink and dropped;
5. :meth:`Spotter.finish` thresholds the signal at ``max(min_score, median + mad_factor · MAD)`` of the
   video's own signal, keeps peaks at least ``k`` frames apart, grows each into the frames whose score
   is at least ``extent`` of its peak and then by ``widen`` × ``k`` frames on each side; intervals longer
   than ``max_duration`` seconds are dropped (a micro-expression lasts 0.5 s at most).

Memory: only the last ``k`` shrunk crops and ``k + 1`` region vectors are kept; per frame, the score and a flag
(face or not) are stored, O(frames) scalars. Frames without a face (or missing indices: a frame that
could not be decoded) break the window; scores restart ``k`` processed frames after the face returns, and
no interval ever contains a frame without a face.
"""

from __future__ import annotations

from array import array
from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

from microexp.errors import ConfigError, DataError
from microexp.features.regions import REGION_NAMES, region_map

EYE_REGIONS = tuple(
    f"{side}_{part}" for side in ("left", "right") for part in ("eye_outer", "eye_inner", "eyelid_lower")
)


@dataclass(frozen=True)
class Interval:
    """A spotted interval; frame indices of the video (``onset <= apex <= offset``) and the peak score."""

    onset: int
    apex: int
    offset: int
    score: float


class Spotter:
    """Push every frame of a video (face crop and landmarks, or ``None`` when there is no face), then
    :meth:`finish` to get the spotted intervals. ``signal`` holds the per-frame score (NaN: no face).

    Options (keywords):

    - ``duration``: expected micro-expression duration in seconds (default 0.3); ``k`` is half of it in
      processed frames, at least 1.
    - ``stride``: process every ``stride``-th frame only (default 1); the frames between are given the
      score interpolated between their processed neighbours. At 200 fps, ``stride=2`` halves the cost and
      still samples a 0.1 s micro-expression 10 times.
    - ``work_size``: side in pixels the crop is shrunk to before the flow (default 96).
    - ``finest_scale``: the finest pyramid level DIS computes (0: full ``work_size``, 1: half; default 1).
    - ``top_regions``: how many of the largest region scores are averaged (default 4).
    - ``eye_weight``: weight of the eye regions' scores (default 0: blinks ignored).
    - ``blink_ratio``: an interval is a blink, and dropped, when the largest eye region score in it is at
      least this multiple of its own peak score (default 1: the eyes moved more than the rest of the face).
    - ``min_score``: the lowest threshold, in pixels of displacement at ``work_size`` (default 0.15).
    - ``mad_factor``: the threshold is at least median + ``mad_factor`` × 1.4826 × MAD of the video's own
      signal (default 8). Both defaults were chosen by F1 on generated training videos (seed 1 of
      benchmarks/spotting.py), never on the videos evaluated: docs/results/spotting.md.
    - ``extent``: an interval is the frames around a peak scoring at least this fraction of it (default 0.5).
    - ``widen``: each interval is widened by this multiple of ``k`` (in frames) on each side (default 0.5:
      the score rises about ``k/2`` after a movement starts and falls ``k/2`` before it ends).
    - ``max_duration``: longest interval kept, in seconds (default 0.6).
    """

    def __init__(
        self,
        fps: float,
        *,
        duration: float = 0.3,
        stride: int = 1,
        work_size: int = 96,
        finest_scale: int = 1,
        top_regions: int = 4,
        eye_weight: float = 0.0,
        blink_ratio: float = 1.0,
        widen: float = 0.5,
        min_score: float = 0.15,
        mad_factor: float = 8.0,
        extent: float = 0.5,
        max_duration: float = 0.6,
    ) -> None:
        if not fps > 0:
            raise ConfigError(f"the spotter needs the video's frame rate, a positive number; got {fps}")
        if not 0 < duration <= 2:
            raise ConfigError(f"duration {duration} s is outside (0, 2]: micro-expressions last 0.5 s at most")
        if finest_scale not in (0, 1, 2):
            raise ConfigError(f"finest_scale must be 0, 1 or 2 (DIS pyramid levels), got {finest_scale}")
        if stride < 1 or work_size < 32 or not 1 <= top_regions <= len(REGION_NAMES):
            raise ConfigError(
                f"stride must be at least 1, work_size at least 32 and top_regions in 1-{len(REGION_NAMES)}; "
                f"got {stride}, {work_size}, {top_regions}"
            )
        if eye_weight < 0:
            raise ConfigError(f"eye_weight must be at least 0, got {eye_weight}")
        self.rule = IntervalRule(min_score, mad_factor, extent, max_duration, blink_ratio, widen)
        self.fps = float(fps)
        self.stride = stride
        self.k = max(1, int(round(duration * fps / 2 / stride)))
        self.work_size = work_size
        self.top_regions = top_regions
        self.eye_weight = eye_weight
        self._solver = cv2.DISOpticalFlow_create(cv2.DISOpticalFlow_PRESET_ULTRAFAST)
        self._solver.setFinestScale(finest_scale)
        self._scores = array("d")  # per frame index; NaN until scored
        self._eye_scores = array("d")  # per frame index: the largest eye region excursion, for blinks
        self._has_face = bytearray()  # per frame index
        self._crop_shape: tuple[int, int] | None = None
        self._reset_run()

    # --- streaming -------------------------------------------------------------------------------------

    def _reset_run(self) -> None:
        """A face run ends (no face, a missing frame): nothing before it is compared with what follows."""
        self._crops: deque[np.ndarray] = deque(maxlen=self.k)  # the last k processed crops
        self._motions: deque[tuple[int, np.ndarray]] = deque(maxlen=self.k + 1)  # (frame index, regions × 2)
        self._regions: np.ndarray | None = None
        self._counts: np.ndarray | None = None

    def push(self, index: int, face: np.ndarray | None, landmarks: np.ndarray | None) -> None:
        """Frame ``index`` (0-based, increasing; skipped indices count as frames without a face): its aligned
        grey uint8 face crop (H, W) and 68 landmarks in crop pixels, or both ``None`` when it has no face."""
        if index < len(self._scores):
            raise DataError(f"frame {index} was pushed after frame {len(self._scores) - 1}; push frames in order")
        if face is not None and landmarks is not None:
            self._check(index, face, landmarks)
        if index > len(self._scores):  # frames the caller could not read: no face there
            self._reset_run()
            missing = index - len(self._scores)
            self._scores.extend([np.nan] * missing)
            self._eye_scores.extend([np.nan] * missing)
            self._has_face.extend(bytes(missing))
        self._scores.append(np.nan)
        self._eye_scores.append(np.nan)
        if face is None or landmarks is None:
            self._has_face.append(0)
            self._reset_run()
            return
        self._has_face.append(1)
        if index % self.stride:
            return
        crop = cv2.resize(face, (self.work_size, self.work_size), interpolation=cv2.INTER_AREA)
        if self._regions is None:
            scale = (self.work_size / face.shape[1], self.work_size / face.shape[0])
            self._start_run(np.asarray(landmarks, dtype=np.float64) * scale)
        if len(self._crops) == self.k:  # the crop k processed frames back is the oldest kept
            self._add_motion(index, self._region_motion(self._crops[0], crop))
        self._crops.append(crop)

    def _check(self, index: int, face: np.ndarray, landmarks: np.ndarray) -> None:
        if face.ndim != 2 or face.dtype != np.uint8:
            raise DataError(
                f"frame {index}: the spotter takes a grey uint8 face crop (H, W), got {face.dtype} {face.shape}"
            )
        if self._crop_shape is None:
            self._crop_shape = face.shape
        elif face.shape != self._crop_shape:
            raise DataError(
                f"frame {index}: face crop {face.shape} differs from the first one {self._crop_shape}; "
                "the spotter needs crops of one size, aligned alike"
            )
        if np.shape(landmarks) != (68, 2):
            raise DataError(f"frame {index}: the spotter takes 68 landmarks (x, y), got {np.shape(landmarks)}")

    def _start_run(self, landmarks: np.ndarray) -> None:
        """The region of every work-crop pixel, from the run's first landmarks: the crops are aligned, so
        the regions stay put while the face does (and recomputing them per frame would add their jitter)."""
        regions = region_map(landmarks, (self.work_size, self.work_size)).ravel()
        self._regions = np.where(regions >= 0, regions, len(REGION_NAMES))  # the last bin: outside the face
        bins = len(REGION_NAMES) + 1
        self._counts = np.bincount(self._regions, minlength=bins)[:-1].astype(np.float64)
        present = self._counts > 0
        pixels = np.arange(self.work_size**2)
        centres = np.stack(
            [np.bincount(self._regions, pixels % self.work_size, bins)[:-1],
             np.bincount(self._regions, pixels // self.work_size, bins)[:-1]],
            axis=1,
        ) / np.maximum(self._counts, 1)[:, None]
        eyes = np.isin(np.arange(len(REGION_NAMES)), [REGION_NAMES.index(n) for n in EYE_REGIONS])
        self._fit_weights = (present & ~eyes).astype(np.float64)
        self._centres = (centres - self.work_size / 2) / self.work_size  # centred and of unit scale: a stable fit
        self._weights = np.where(eyes, self.eye_weight, 1.0) * present
        self._eyes = eyes & present

    def _region_motion(self, earlier: np.ndarray, crop: np.ndarray) -> np.ndarray:
        """(regions, 2): each region's mean flow from ``earlier`` to ``crop``, less the head's motion."""
        flow = self._solver.calc(earlier, crop, None).reshape(-1, 2)
        bins = len(REGION_NAMES) + 1
        sums = np.stack(
            [np.bincount(self._regions, flow[:, 0], bins)[:-1], np.bincount(self._regions, flow[:, 1], bins)[:-1]],
            axis=1,
        )
        return _head_residual(sums / np.maximum(self._counts, 1)[:, None], self._centres, self._fit_weights)

    def _add_motion(self, index: int, motion: np.ndarray) -> None:
        self._motions.append((index, motion))
        if len(self._motions) == self.k + 1:
            centre, away = self._motions[0]  # p(t) - p(t-k) at the centre t; now p(t+k) - p(t)
            back = -motion
            excursion = _excursion(away, back)
            self._scores[centre] = float(np.sort(excursion * self._weights)[-self.top_regions :].mean())
            self._eye_scores[centre] = float(excursion[self._eyes].max())

    # --- the result ------------------------------------------------------------------------------------

    @property
    def signal(self) -> np.ndarray:
        """Per-frame score: NaN where there is no face; 0 on face frames the window does not reach (the
        first and last ``k`` processed frames of a face run); interpolated between processed frames."""
        scores = np.frombuffer(self._scores, dtype=np.float64).copy()
        face = np.frombuffer(bytes(self._has_face), dtype=np.uint8).astype(bool)
        for start, stop in _runs(face):
            run = scores[start:stop]
            known = np.flatnonzero(np.isfinite(run))
            if len(known) == 0:
                run[:] = 0.0
                continue
            inside = np.arange(known[0], known[-1] + 1)
            run[inside] = np.interp(inside, known, run[known])
            run[: known[0]] = 0.0
            run[known[-1] + 1 :] = 0.0
        return scores

    @property
    def eye_signal(self) -> np.ndarray:
        """Per-frame largest eye region score (NaN where not computed): what tells a blink."""
        return np.frombuffer(self._eye_scores, dtype=np.float64).copy()

    def threshold(self, signal: np.ndarray | None = None) -> float:
        """The score a peak must exceed on this video."""
        return self.rule.threshold(self.signal if signal is None else signal)

    def finish(self) -> list[Interval]:
        """The spotted intervals, in time order; none contains a frame without a face."""
        return self.rule.intervals(self.signal, self.eye_signal, self.fps, self.k * self.stride)


@dataclass(frozen=True)
class IntervalRule:
    """How a spotting signal becomes intervals (the options of :class:`Spotter` of the same names); kept
    apart from the streaming so thresholds can be chosen on training videos' signals without a second pass."""

    min_score: float = 0.15
    mad_factor: float = 8.0
    extent: float = 0.5
    max_duration: float = 0.6
    blink_ratio: float = 1.0
    widen: float = 0.5

    def __post_init__(self) -> None:
        if self.min_score < 0 or self.mad_factor < 0 or not 0 < self.extent < 1 or self.max_duration <= 0:
            raise ConfigError(
                "min_score and mad_factor must be at least 0, extent in (0, 1) and max_duration positive; got "
                f"{self.min_score}, {self.mad_factor}, {self.extent}, {self.max_duration}"
            )
        if self.blink_ratio <= 0 or self.widen < 0:
            raise ConfigError(
                f"blink_ratio must be positive and widen at least 0, got {self.blink_ratio}, {self.widen}"
            )

    def threshold(self, signal: np.ndarray) -> float:
        """``max(min_score, median + mad_factor · 1.4826 · MAD)`` of the video's own signal."""
        values = signal[np.isfinite(signal)]
        if len(values) == 0:
            return float("inf")
        median = float(np.median(values))
        spread = 1.4826 * float(np.median(np.abs(values - median)))
        return max(self.min_score, median + self.mad_factor * spread)

    def intervals(self, signal: np.ndarray, eyes: np.ndarray, fps: float, distance: int) -> list[Interval]:
        """Peaks above the threshold, at least ``distance`` frames apart, each grown into the frames scoring
        at least ``extent`` of it, then by ``widen`` × ``distance`` frames on each side; too long ones and
        blinks dropped. No interval holds a NaN (face-less) frame."""
        from scipy.signal import find_peaks

        threshold = self.threshold(signal)
        if not np.isfinite(threshold):
            return []
        face = np.isfinite(signal)
        filled = np.where(face, signal, 0.0)
        eyes = np.where(np.isfinite(eyes), eyes, 0.0)
        peaks, _ = find_peaks(filled, height=threshold, distance=max(1, distance))
        longest = self.max_duration * fps
        intervals: list[Interval] = []
        for peak in peaks:
            level = self.extent * filled[peak]
            onset, offset = peak, peak
            while onset > 0 and face[onset - 1] and filled[onset - 1] >= level:
                onset -= 1
            while offset < len(filled) - 1 and face[offset + 1] and filled[offset + 1] >= level:
                offset += 1
            if eyes[onset : offset + 1].max() >= self.blink_ratio * filled[peak]:
                continue
            # the score needs the face away from both p(t - k) and p(t + k), so it rises about k/2 after the
            # movement starts and falls k/2 before it ends: widen by as much, within the face's run
            margin = int(round(self.widen * distance))
            for _ in range(margin):
                if onset > 0 and face[onset - 1]:
                    onset -= 1
                if offset < len(filled) - 1 and face[offset + 1]:
                    offset += 1
            if offset - onset + 1 > longest:
                continue
            if intervals and onset <= intervals[-1].offset:  # one event seen as two peaks: keep the higher
                if filled[peak] > intervals[-1].score:
                    first = min(onset, intervals[-1].onset)
                    intervals[-1] = Interval(int(first), int(peak), int(offset), float(filled[peak]))
                continue
            intervals.append(Interval(int(onset), int(peak), int(offset), float(filled[peak])))
        return intervals


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of every run of True in a 1-D bool array."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def _head_residual(motion: np.ndarray, centres: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``motion`` (regions × 2) less the affine motion of the region centres that fits it best: what a
    head's translation, rotation, zoom and turn (whose 2-D trace is a squeeze) do to an aligned face.
    Fitted twice: the second fit leaves out the regions the first left far from it, which are those an
    expression moved, so the reference is the face's rigid part, whichever regions that is."""
    design = np.concatenate([centres, np.ones((len(centres), 1))], axis=1)  # (regions, 3): x, y, 1
    residual, fit = motion, weights
    for _ in range(2):
        if np.count_nonzero(fit) < 6:
            break
        root = np.sqrt(fit)[:, None]
        affine, *_ = np.linalg.lstsq(design * root, motion * root, rcond=None)  # (3, 2)
        residual = motion - design @ affine
        size = np.linalg.norm(residual, axis=1)
        fit = fit * (size <= 2.5 * np.median(size[fit > 0]) + 1e-6)
    return residual


def _excursion(away: np.ndarray, back: np.ndarray) -> np.ndarray:
    """Per region, how far it went and came back: the smaller of the two displacements ``away`` (p(t) -
    p(t-k)) and ``back`` (p(t) - p(t+k)) along their common direction, 0 when they point apart.

    A micro-expression at t gives two equal displacements; a steady drift or a slow ramp gives opposite
    ones (0); a step, or an event k frames before or after t, gives one displacement only (0), so an
    event is not echoed at t ± k as the plain second difference ``away + back`` echoes it."""
    total = away + back
    direction = total / np.maximum(np.linalg.norm(total, axis=1, keepdims=True), 1e-9)
    return np.maximum(0.0, np.minimum((away * direction).sum(axis=1), (back * direction).sum(axis=1)))


def parse_options(pairs: list[str]) -> dict[str, float | int]:
    """``["min_score=0.2", "stride=1"]`` as the :class:`Spotter` keywords they name, typed like their defaults;
    an unknown name or a value that is not a number is an error listing what is accepted."""
    import inspect

    defaults = {
        name: parameter.default
        for name, parameter in inspect.signature(Spotter.__init__).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    }
    options: dict[str, float | int] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        name = name.strip()
        if name not in defaults or not value:
            raise ConfigError(f"spotter option {pair!r}: expected NAME=VALUE with NAME one of {sorted(defaults)}")
        kind = type(defaults[name])
        try:
            options[name] = kind(value) if kind is int else float(value)
        except ValueError:
            raise ConfigError(f"spotter option {name}={value!r}: expected {kind.__name__}") from None
    return options
