"""What a model eats: named inputs, each made by a registered builder, and the settings builders read.

A model declares its inputs by name, for example ``{"flow": (3, 28, 28)}``, ``{"apex": (1, 48, 48),
"flow": (3, 48, 48)}`` or ``{"frames": (8, 1, 64, 64)}``. The name picks the builder unless the
declaration names one (``{"frames32": ("frames", (32, 1, 112, 112))}``: two inputs of one builder).
The shape is per sample, channels first; a builder derives what it can from it (frame count, size,
channels) and reads everything else from :class:`InputSettings`, which a study sets once for all inputs.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from microexp.errors import ConfigError, DataError
from microexp.preprocess.align import GEOMETRIES
from microexp.preprocess.faces import BACKENDS, FALLBACKS
from microexp.preprocess.flow import NORMALISATIONS, PARAMS, DISParams, FarnebackParams, TVL1Params
from microexp.preprocess.interpolate import INTERPOLATIONS
from microexp.preprocess.pipeline import FlowSettings


def is_missing(value: Any) -> bool:
    """An empty table cell: None, NaN or pandas' NA. pandas is not imported for it: a value can only be its NA
    when pandas is loaded already, and one clip's inputs (``predict``) are built without it."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    pandas = sys.modules.get("pandas")
    return pandas is not None and value is pandas.NA


# How a builder's array is laid out, which decides how it is standardised and mirrored:
# image (C, H, W); flow (C, H, W) with u, v[, strain], 0-255; frames (T, C, H, W); vector (D,).
KINDS = {"image": 3, "flow": 3, "frames": 4, "vector": 1}
FRAME_SAMPLING = ("uniform", *INTERPOLATIONS)
# "auto": what the row's database declares (its table's ``face_geometry`` column, see resolve_for_row)
FACE_GEOMETRIES = ("auto", *GEOMETRIES)
STILL_FACES = ("auto", "as-given", "detect")
GEOMETRY_COLUMN = "face_geometry"


@dataclass(frozen=True)
class InputSpec:
    """One named input of a model: the builder that makes it and the per-sample shape it must have."""

    builder: str
    shape: tuple[int, ...]

    def describe(self) -> str:
        return f"{self.builder} {'x'.join(str(s) for s in self.shape)}"

    def batch_shape(self, batch_size: int) -> tuple[int, ...]:
        return (batch_size, *self.shape)


def input_specs(declared: Mapping[str, Any]) -> dict[str, InputSpec]:
    """Normalise a model's declaration (name -> shape, or name -> (builder, shape)) into specs."""
    if not declared:
        raise ConfigError("a model must declare at least one input")
    specs = {}
    for name, value in declared.items():
        if isinstance(value, InputSpec):
            specs[name] = value
        elif len(value) == 2 and isinstance(value[0], str):
            specs[name] = InputSpec(value[0], tuple(int(s) for s in value[1]))
        else:
            specs[name] = InputSpec(name, tuple(int(s) for s in value))
    return specs


@dataclass(frozen=True)
class InputSettings:
    """Every choice that changes a built input besides its shape. A builder's cache key holds the
    settings it reads (``Builder.settings_used``), so changing one never reads a stale entry and
    changing another leaves its entries valid."""

    face_backend: str = "dlib"  # "dlib" (68 points) or "mtcnn" (5 points); found on the onset frame
    no_face: str = "raise"  # or "frame": treat a face-less onset frame as a face crop already
    crop_size: int = 128  # aligned face crop side; flow is computed at this resolution
    margin: float = 0.05  # border around the face square, as a fraction of it
    flow_method: str = "tvl1"
    flow_params: TVL1Params | FarnebackParams | DISParams | None = None  # None: the method's defaults
    flow_size: int = 28  # side the (u, v, strain) is computed at before resizing to the declared shape
    norm: str = "minmax"  # flow values to 0-255: per clip and channel (the composite's) or fixed scale
    frame_sampling: str = "uniform"  # T frames onset..offset: nearest frames, or resampled (linear, tim)
    # Where the face is in a clip's frames: found and aligned on the eyes ("detect"), or the whole frame,
    # which is the database's face crop, resized to the square ("as-cropped"); "auto": as the row's database
    # declares (frames without a declaration: detect).
    face_geometry: str = "auto"
    # An apex image a database ships (a still photograph, a face crop): used as it is, or its face detected,
    # aligned on the eyes and cropped (full photographs: JAFFE 256x256, CK+ 640x490); "auto": detect where
    # the face geometry resolves to detect for a database that declares it, else as given.
    still_faces: str = "auto"

    def __post_init__(self) -> None:
        choices = {
            "face_backend": BACKENDS,
            "no_face": FALLBACKS,
            "flow_method": tuple(PARAMS),
            "norm": NORMALISATIONS,
            "frame_sampling": FRAME_SAMPLING,
            "face_geometry": FACE_GEOMETRIES,
            "still_faces": STILL_FACES,
        }
        for name, valid in choices.items():
            if getattr(self, name) not in valid:
                raise ConfigError(f"input setting {name}={getattr(self, name)!r} is unknown; choose one of {valid}")
        for name in ("crop_size", "flow_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 8:
                raise ConfigError(f"input setting {name} must be an integer of at least 8, got {getattr(self, name)!r}")
        if not isinstance(self.margin, int | float) or not 0 <= self.margin < 1:
            raise ConfigError(f"input setting margin must be in [0, 1), got {self.margin!r}")
        if self.flow_params is None:
            object.__setattr__(self, "flow_params", PARAMS[self.flow_method]())
        elif isinstance(self.flow_params, Mapping):
            object.__setattr__(self, "flow_params", _flow_params(self.flow_method, self.flow_params))
        self.flow  # noqa: B018 -- FlowSettings checks the flow parameters against the method

    @property
    def flow(self) -> FlowSettings:
        return FlowSettings(
            backend=self.face_backend,
            no_face=self.no_face,
            crop_size=self.crop_size,
            margin=self.margin,
            method=self.flow_method,
            flow_params=self.flow_params,
            size=self.flow_size,
            geometry="detect" if self.face_geometry == "auto" else self.face_geometry,
        )

    def resolve_for_row(self, row: Mapping[str, Any]) -> InputSettings:
        """These settings with ``auto`` replaced by what the row's database declares in its
        ``face_geometry`` column ("detect" or "as-cropped"): a composite's parts each get their own. A row
        without a declaration keeps today's defaults: frames detect, shipped images as given. Builders key
        the cache on the resolved values."""
        declared = row.get(GEOMETRY_COLUMN)
        if is_missing(declared):  # an empty cell of a concatenated table
            declared = None
        if declared is not None and declared not in GEOMETRIES:
            raise DataError(
                f"clip {row.get('clip_id')}: column {GEOMETRY_COLUMN} holds {declared!r}; expected one of "
                f"{GEOMETRIES} (the adapter declares it) or nothing"
            )
        return _resolved(self, declared)

    def subset(self, names: tuple[str, ...]) -> dict[str, Any]:
        """The named settings as plain values, for a cache key or a record."""
        values = dataclasses.asdict(self)
        if "flow_params" in names:
            values["flow_params_type"] = type(self.flow_params).__name__
            names = (*names, "flow_params_type")
        return {name: values[name] for name in names}

    def as_dict(self) -> dict[str, Any]:
        return self.subset(tuple(f.name for f in dataclasses.fields(self)))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None) -> InputSettings:
        values = dict(values or {})
        values.pop("flow_params_type", None)
        valid = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(valid))
        if unknown:
            raise ConfigError(f"unknown input setting(s) {unknown}; valid settings: {valid}")
        return cls(**values)


def _flow_params(method: str, values: Mapping[str, Any]) -> TVL1Params | FarnebackParams | DISParams:
    """The method's parameters from a mapping (an experiment file, ``--set inputs.flow_params=...``), each a
    non-negative number of its field's type: a typo or text must not reach OpenCV in every worker."""
    cls = PARAMS[method]
    declared = {spec.name: str(spec.type) for spec in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise ConfigError(
            f"input setting flow_params: {method} has no parameter(s) {unknown}; valid parameters: {list(declared)}"
        )
    for name, value in values.items():
        if value is None and "None" in declared[name]:
            continue
        integer = "float" not in declared[name]
        number = isinstance(value, int) if integer else isinstance(value, int | float) and math.isfinite(value)
        if isinstance(value, bool) or not number or value < 0:
            kind = "integer" if integer else "finite number"
            raise ConfigError(f"input setting flow_params.{name}={value!r}: expected a non-negative {kind}")
    return cls(**values)


@functools.lru_cache(maxsize=256)
def _resolved(settings: InputSettings, declared: str | None) -> InputSettings:
    # one object per (settings, declaration), however many rows a table has (FER-2013: 35,887)
    geometry = settings.face_geometry if settings.face_geometry != "auto" else declared
    still = settings.still_faces
    if still == "auto":
        still = "detect" if geometry == "detect" else "as-given"
    resolved = geometry or "detect"
    if (resolved, still) == (settings.face_geometry, settings.still_faces):
        return settings
    return dataclasses.replace(settings, face_geometry=resolved, still_faces=still)
