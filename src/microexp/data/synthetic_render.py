"""Synthetic micro-expressions rendered from one real face photograph: the clips as frame arrays.

The licensed databases cannot ship with microexp, so the demo and the tests make their own. From a face
image (by default the astronaut portrait scikit-image ships, no download) the renderer finds dlib's 68
landmarks and renders short high-frame-rate clips in which smooth, AU-like displacement fields anchored at
landmarks move the face:

- positive: AU6 + AU12 (cheek raiser, lip-corner puller): mouth corners out and up;
- negative: AU4 + AU9 (brow lowerer, nose wrinkler): inner brows down and together, nostril wings up;
- surprise: AU1 + AU2 + AU26 (inner and outer brow raiser, jaw drop): brows up, chin and lower lip down.

Each field is a sum of Gaussian bumps, scaled so its largest displacement is ``amplitude`` pixels at the
apex (a few pixels at most, as in real micro-expressions), and follows a raised-cosine onset → apex →
offset course of 0.1–0.5 s. Every clip also carries the nuisances a real recording has, drawn independently
of its class: small head motion, blinks, illumination flicker and sensor noise; and every "subject" is a
different identity made from the photograph (geometry warp, mirror image, skin tone, brightness). With
``amplitude=0`` nothing but the nuisances moves, so the classes are indistinguishable: the control that
shows a pipeline reads facial motion rather than artefacts of the generator.

:mod:`microexp.data.synthetic_write` writes these clips as a CASME II copy; :mod:`microexp.data.synthetic`
is the adapter that reads it. Everything is seeded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from microexp.errors import ConfigError

# class -> (the CASME II emotion word written in the sheet, the action units written beside it)
EXPRESSIONS = {
    "negative": ("disgust", "4+9"),
    "positive": ("happiness", "6+12"),
    "surprise": ("surprise", "1+2+26"),
}
CLASSES = tuple(EXPRESSIONS)

# AU-like displacement fields: (landmark indices whose mean anchors a bump, direction (dx, dy) in image
# coordinates with y down, weight, bump radius as a fraction of the inter-ocular distance). dlib's point 36
# is the eye on the image's left, so "outward" is -x for points 17-21, 36-41, 48 and +x for their mirrors.
AU_BUMPS = {
    "positive": (
        ((48,), (-0.6, -0.8), 1.0, 0.22),  # AU12: lip corners pulled out and up
        ((54,), (0.6, -0.8), 1.0, 0.22),
        ((1, 31, 41), (0.0, -1.0), 0.4, 0.25),  # AU6: cheeks raised
        ((15, 35, 46), (0.0, -1.0), 0.4, 0.25),
    ),
    "negative": (
        ((21,), (0.5, 0.85), 1.0, 0.2),  # AU4: inner brows lowered and drawn together
        ((22,), (-0.5, 0.85), 1.0, 0.2),
        ((19,), (0.0, 1.0), 0.5, 0.2),
        ((24,), (0.0, 1.0), 0.5, 0.2),
        ((31,), (0.2, -1.0), 0.8, 0.15),  # AU9: nostril wings raised, nose wrinkled
        ((35,), (-0.2, -1.0), 0.8, 0.15),
    ),
    "surprise": (
        ((20, 21), (0.0, -1.0), 1.0, 0.22),  # AU1: inner brows raised
        ((22, 23), (0.0, -1.0), 1.0, 0.22),
        ((17, 18), (0.0, -1.0), 0.8, 0.22),  # AU2: outer brows raised
        ((25, 26), (0.0, -1.0), 0.8, 0.22),
        ((8,), (0.0, 1.0), 1.0, 0.3),  # AU26: jaw dropped
        ((57,), (0.0, 1.0), 0.7, 0.2),
    ),
}


@dataclass(frozen=True)
class SyntheticSettings:
    """Everything that changes the generated database; the cache manifest records all of it."""

    subjects: int = 8
    clips_per_class: int = 2
    amplitude: float = 1.5  # peak expression displacement in pixels of the frame; 0 = no expression motion
    fps: int = 200  # CASME II's and SAMM's rate
    frame_size: int = 192  # square frames; the face box is about 60% of the side (~115 px: dlib's HOG needs 80)
    head_motion: float = 0.5  # largest head translation in pixels over a clip (rotation is scaled to match)
    blink_probability: float = 0.3  # chance that a clip holds a blink, at a random time
    flicker: float = 0.02  # illumination flicker, relative amplitude
    noise: float = 2.0  # sensor noise, standard deviation in grey levels
    seed: int = 0

    def __post_init__(self) -> None:
        if self.subjects < 2 or self.clips_per_class < 1:
            raise ConfigError(
                f"a synthetic database needs at least 2 subjects (LOSO) and 1 clip per class, "
                f"got subjects={self.subjects}, clips_per_class={self.clips_per_class}"
            )
        if not 0 <= self.amplitude <= 5:
            raise ConfigError(
                f"amplitude {self.amplitude} px is outside 0-5: micro-expressions move a few pixels at most"
            )
        if self.fps < 25 or self.frame_size < 128:
            raise ConfigError(f"fps must be at least 25 and frame_size at least 128, got {self.fps}, {self.frame_size}")
        if self.seed < 0:  # numpy's generators take no negative seed
            raise ConfigError(f"the synthetic database's seed must be at least 0, got {self.seed}")


@dataclass(frozen=True)
class Subject:
    """One synthetic identity: its neutral face frame and the 68 landmarks found on it."""

    number: int  # 1-based, as CASME II numbers subjects (sub01)
    neutral: np.ndarray  # (S, S, 3) uint8 RGB
    landmarks: np.ndarray  # (68, 2) x, y


@dataclass(frozen=True)
class SyntheticClip:
    """A rendered clip; ``onset``, ``apex`` and ``offset`` are 0-based positions in ``frames``."""

    frames: np.ndarray  # (T, S, S, 3) uint8 RGB
    expression: str  # a class of CLASSES
    onset: int
    apex: int
    offset: int
    blink: bool



# --- the face ------------------------------------------------------------------------------------------


def default_face_image() -> np.ndarray:
    """The astronaut portrait (Eileen Collins, public domain) that scikit-image ships: no download."""
    from skimage import data

    return data.astronaut()


def _dlib_face(image: np.ndarray, where: str):
    # Imported here: data/ is the first stage and imports no later one at load time; only rendering, never
    # reading the written database, needs the face detector.
    from microexp.preprocess.faces import best_face, get_detector

    return best_face(image, get_detector("dlib"), where)


def face_frame(image: np.ndarray, size: int, source: str = "the face image") -> np.ndarray:
    """A size × size RGB frame centred on the image's best face, the face box 60% of the side."""
    rgb = np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image[..., :3]
    face = _dlib_face(rgb, source)
    centre = face.landmarks.mean(axis=0)
    scale = 0.6 * size / max(face.box[2] - face.box[0], face.box[3] - face.box[1])
    matrix = np.array([[scale, 0, size / 2 - scale * centre[0]], [0, scale, size / 2 - scale * centre[1]]])
    return cv2.warpAffine(rgb, matrix, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT)


def _landmarks(frame: np.ndarray, where: str) -> np.ndarray:
    return _dlib_face(frame, where).landmarks


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    return np.meshgrid(np.arange(size, dtype=np.float32), np.arange(size, dtype=np.float32))


def _bumps(size: int, centres: np.ndarray, vectors: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """(size, size, 2) displacement: a Gaussian bump of each vector around its centre."""
    x, y = _grid(size)
    field = np.zeros((size, size, 2), np.float32)
    for (cx, cy), vector, radius in zip(centres, vectors, radii, strict=True):
        weight = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * radius**2))
        field += weight[..., None] * np.asarray(vector, np.float32)
    return field


def _remap(image: np.ndarray, map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
    # cubic, not bilinear: bilinear blurs a frame more the nearer its shift is to half a pixel, which would
    # make sharpness flicker with the head motion
    return cv2.remap(image, map_x, map_y, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)


def make_subject(base: np.ndarray, base_landmarks: np.ndarray, number: int, seed: int) -> Subject:
    """Identity ``number`` made from the base face frame: mirror, affine and smooth geometry warp, skin
    tone, brightness and contrast, all drawn from (seed, number)."""
    rng = np.random.default_rng([seed, number, 0])
    size = base.shape[0]
    mirrored = rng.random() < 0.5
    image = np.ascontiguousarray(base[:, ::-1]) if mirrored else base
    landmarks = base_landmarks.copy()
    if mirrored:
        landmarks[:, 0] = size - 1 - landmarks[:, 0]
    # smooth warp: wider or narrower jaw, longer nose, bigger eyes ... as bumps at random landmarks
    iod = float(np.linalg.norm(landmarks[42:48].mean(0) - landmarks[36:42].mean(0)))
    picked = rng.choice(68, size=5, replace=False)
    warp = _bumps(size, landmarks[picked], rng.normal(0, 2.5, (5, 2)), rng.uniform(0.4, 0.8, 5) * iod)
    # a small similarity with a change of aspect, about the face centre (taken as the inverse map)
    angle = np.deg2rad(rng.uniform(-4, 4))
    scale = rng.uniform(0.92, 1.08) * np.array([rng.uniform(0.94, 1.06), 1.0])
    centre = landmarks.mean(axis=0) + rng.uniform(-4, 4, 2)
    cos, sin = np.cos(angle), np.sin(angle)
    x, y = _grid(size)
    dx, dy = x - size / 2, y - size / 2
    map_x = (cos * dx - sin * dy) / scale[0] + centre[0] - warp[..., 0]
    map_y = (sin * dx + cos * dy) / scale[1] + centre[1] - warp[..., 1]
    image = _remap(image, map_x.astype(np.float32), map_y.astype(np.float32))
    # skin tone (per-channel gain), brightness, contrast about mid-grey, gamma
    linear = image.astype(np.float32) / 255.0
    linear = linear ** rng.uniform(0.85, 1.15) * (1 + rng.normal(0, 0.06, 3))
    linear = (linear - 0.5) * rng.uniform(0.8, 1.1) + 0.5 + rng.uniform(-0.08, 0.08)
    neutral = np.clip(linear * 255 + 0.5, 0, 255).astype(np.uint8)
    where = f"synthetic subject {number} (seed {seed})"
    return Subject(number, neutral, _landmarks(neutral, where))


def expression_field(subject: Subject, expression: str, rng: np.random.Generator) -> np.ndarray:
    """(S, S, 2) displacement of ``expression`` at its apex, largest displacement 1 pixel. Each bump's
    weight is jittered per clip, so no two clips of a class move exactly alike."""
    if expression not in AU_BUMPS:
        raise ConfigError(f"unknown expression {expression!r}; expected one of {CLASSES}")
    points = subject.landmarks
    iod = float(np.linalg.norm(points[42:48].mean(0) - points[36:42].mean(0)))
    bumps = AU_BUMPS[expression]
    centres = np.array([points[list(indices)].mean(axis=0) for indices, _, _, _ in bumps])
    jitter = rng.uniform(0.7, 1.3, len(bumps))
    vectors = np.array([np.asarray(direction) * weight for _, direction, weight, _ in bumps]) * jitter[:, None]
    radii = np.array([radius for _, _, _, radius in bumps]) * iod
    field = _bumps(subject.neutral.shape[0], centres, vectors, radii)
    return field / np.linalg.norm(field, axis=2).max()


def blink_field(subject: Subject) -> np.ndarray:
    """(S, S, 2) displacement of both upper eyelids closing (about 80% of the eye's opening)."""
    points = subject.landmarks
    centres, vectors, radii = [], [], []
    for upper, lower, corners in (((37, 38), (41, 40), (36, 39)), ((43, 44), (47, 46), (42, 45))):
        opening = float(np.mean(points[list(lower), 1] - points[list(upper), 1]))
        width = float(np.linalg.norm(points[corners[1]] - points[corners[0]]))
        centres.append(points[list(upper)].mean(axis=0))
        vectors.append((0.0, 0.8 * max(opening, 1.0)))
        radii.append(0.35 * width)
    return _bumps(subject.neutral.shape[0], np.array(centres), np.array(vectors), np.array(radii))


def _raised_cosine(t: np.ndarray, start: float, peak: float, end: float) -> np.ndarray:
    """0 before ``start``, rising smoothly to 1 at ``peak``, back to 0 at ``end``."""
    rise = 0.5 - 0.5 * np.cos(np.pi * np.clip((t - start) / max(peak - start, 1e-9), 0, 1))
    fall = 0.5 + 0.5 * np.cos(np.pi * np.clip((t - peak) / max(end - peak, 1e-9), 0, 1))
    return np.where(t <= peak, rise, fall)


def render_clip(
    subject: Subject, expression: str, settings: SyntheticSettings, rng: np.random.Generator
) -> SyntheticClip:
    """One clip: a few still frames, onset → apex → offset (0.1–0.5 s in all), a few still frames.

    The draws are made in the same order whatever ``settings.amplitude`` is, so a database at amplitude 0
    holds the very same nuisances as one at the default amplitude.
    """
    fps = settings.fps
    rise, fall = rng.uniform(0.05, 0.2), rng.uniform(0.05, 0.3)
    lead, tail = rng.uniform(0.02, 0.05), rng.uniform(0.02, 0.05)
    onset = int(round(lead * fps))
    apex = onset + max(1, int(round(rise * fps)))
    offset = apex + max(1, int(round(fall * fps)))
    count = offset + int(round(tail * fps)) + 1
    t = np.arange(count) / fps
    intensity = settings.amplitude * rng.uniform(0.7, 1.0) * _raised_cosine(t, onset / fps, apex / fps, offset / fps)
    expression_motion = expression_field(subject, expression, rng)
    # head motion: a slow drift plus a tremor, and a rotation of matching size at the face's edge
    size = subject.neutral.shape[0]
    drift = rng.normal(0, 1, 2)
    drift *= rng.uniform(0, 1) * settings.head_motion / max(np.linalg.norm(drift), 1e-9) / t[-1]
    tremor_frequency, tremor_phase = rng.uniform(2, 8, 2), rng.uniform(0, 2 * np.pi, 2)
    tremor = 0.3 * settings.head_motion * np.sin(2 * np.pi * tremor_frequency[None] * t[:, None] + tremor_phase)
    shift = drift[None] * t[:, None] + tremor
    angle = rng.uniform(-1, 1) * settings.head_motion / (0.3 * size) * np.sin(np.pi * t / t[-1])
    # blink: a 0.08–0.15 s closure at a random time, in some clips only
    blink = rng.random() < settings.blink_probability
    blink_start, blink_length = rng.uniform(0, t[-1]), rng.uniform(0.08, 0.15)
    closure = _raised_cosine(t, blink_start, blink_start + 0.4 * blink_length, blink_start + blink_length)
    closure = closure if blink else np.zeros_like(t)
    eyelids = blink_field(subject)
    # illumination: a flicker of random frequency, and noise
    flicker = 1 + settings.flicker * np.sin(2 * np.pi * rng.uniform(3, 15) * t + rng.uniform(0, 2 * np.pi))
    noise_seed = int(rng.integers(2**31))

    x, y = _grid(size)
    centre = subject.landmarks.mean(axis=0)
    noise = np.random.default_rng(noise_seed)
    frames = np.empty((count, size, size, 3), np.uint8)
    for i in range(count):
        # one backward map per frame from the neutral face: no blur builds up over the clip. The map
        # undoes the head motion, then samples where the face's own deformation came from.
        cos, sin = np.cos(-angle[i]), np.sin(-angle[i])
        dx, dy = x - centre[0] - shift[i, 0], y - centre[1] - shift[i, 1]
        deformation = intensity[i] * expression_motion + closure[i] * eyelids
        map_x = cos * dx - sin * dy + centre[0] - deformation[..., 0]
        map_y = sin * dx + cos * dy + centre[1] - deformation[..., 1]
        frame = _remap(subject.neutral, map_x.astype(np.float32), map_y.astype(np.float32)).astype(np.float32)
        frame = frame * flicker[i] + settings.noise * noise.standard_normal(frame.shape, dtype=np.float32)
        frames[i] = np.clip(frame + 0.5, 0, 255).astype(np.uint8)
    return SyntheticClip(frames, expression, onset, apex, offset, bool(blink))


# --- the subjects and clips of a database --------------------------------------------------------------


def make_subjects(
    settings: SyntheticSettings, image: np.ndarray | None = None, numbers: Sequence[int] | None = None
) -> list[Subject]:
    """The identities numbered ``numbers`` (default 1 .. settings.subjects); each depends only on the seed
    and its number, so subject 9 is the same whether or not subjects 1-8 were made."""
    source = "the astronaut image" if image is None else "the face image"
    base = face_frame(default_face_image() if image is None else image, settings.frame_size, source)
    base_landmarks = _landmarks(base, source)
    numbers = range(1, settings.subjects + 1) if numbers is None else numbers
    return [make_subject(base, base_landmarks, n, settings.seed) for n in numbers]


def clip_plan(settings: SyntheticSettings) -> list[tuple[int, int, str]]:
    """(subject number, clip number, expression) of every clip, in writing order."""
    return [
        (subject, k * len(CLASSES) + c + 1, expression)
        for subject in range(1, settings.subjects + 1)
        for k in range(settings.clips_per_class)
        for c, expression in enumerate(CLASSES)
    ]


def example_clip(
    expression: str, settings: SyntheticSettings = SyntheticSettings(), image: np.ndarray | None = None, index: int = 0
) -> SyntheticClip:
    """A clip of a subject who is not in the database written with ``settings`` (held out by construction)."""
    subject = make_subjects(settings, image, [settings.subjects + 1 + index])[0]
    rng = np.random.default_rng([settings.seed, subject.number, 1000 + CLASSES.index(expression)])
    return render_clip(subject, expression, settings, rng)

