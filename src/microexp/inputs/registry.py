"""Input builders by name. A builder turns one clip row (a dict of the sample table) into one float32
array of a declared shape; :func:`microexp.inputs.build.build_inputs` caches what it returns.

Adding an input kind is one new module here with a :class:`Builder` subclass under ``@register_builder``,
listed in ``_ensure_builtin_builders_loaded``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from microexp.errors import ConfigError, DataError
from microexp.inputs.spec import KINDS, InputSettings, InputSpec, is_missing

if TYPE_CHECKING:
    import pandas as pd

SourcePart = Path | np.ndarray  # what a built array depends on: files (their bytes) or in-memory pixels


class Builder:
    """Makes one input of a clip. Subclasses set the class attributes and implement the methods."""

    name: ClassVar[str]
    kind: ClassVar[str]  # one of spec.KINDS: how the engine standardises and mirrors the array
    version: ClassVar[int] = 1  # bump when the computation changes, so cached entries stop matching
    settings_used: ClassVar[tuple[str, ...]] = ()  # the InputSettings fields that change the output
    columns: ClassVar[tuple[str, ...]] = ()  # table columns it reads from (one of them, filled, suffices)
    # settings that cannot change what it makes (the inputs were computed by someone else): setting one is
    # refused rather than silently ignored
    fixed_settings: ClassVar[tuple[str, ...]] = ()
    # reads inputs a database ships already made (the composite's flow PNGs): preferred, where the table has
    # them, to the builders of the same name that compute the input
    ships_input: ClassVar[bool] = False

    def applies(self, samples: pd.DataFrame) -> bool:
        """Whether this builder can make the input for every row of a table."""
        return any(column in samples.columns and samples[column].map(_filled).all() for column in self.columns)

    def applies_to_row(self, row: Mapping[str, Any]) -> bool:
        """Whether this builder can make the input of one clip (a row as a dict)."""
        return any(_filled(row.get(column)) for column in self.columns)

    def check_shape(self, shape: tuple[int, ...]) -> None:
        if len(shape) != KINDS[self.kind]:
            raise ConfigError(f"input {self.name!r} is {self.kind}-shaped ({KINDS[self.kind]} dims), got {shape}")

    def sources(self, row: Mapping[str, Any], settings: InputSettings) -> list[SourcePart]:
        """The files or arrays the output is computed from, in order (their bytes key the cache)."""
        raise NotImplementedError

    def build(
        self, row: Mapping[str, Any], shape: tuple[int, ...], settings: InputSettings
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """(array of ``shape``, float32; JSON-able facts found on the way, e.g. a spotted apex)."""
        raise NotImplementedError


def _filled(value: Any) -> bool:
    """A cell that holds something: not missing, not an empty string or tuple."""
    if is_missing(value):
        return False
    return not (isinstance(value, str | tuple | list) and len(value) == 0)


_BUILDERS: dict[str, list[Builder]] = {}


def register_builder(cls: type[Builder]) -> type[Builder]:
    """Register a builder class. Several may serve one name (the composite's PNG flows and flows computed
    from frames): the first whose columns the table has is used, those that read shipped inputs first, then
    in the order registered (whatever order modules were imported in)."""
    if cls.kind not in KINDS:
        raise ConfigError(f"builder {cls.__name__}: kind {cls.kind!r} is unknown; expected one of {tuple(KINDS)}")
    builders = _BUILDERS.setdefault(cls.name, [])
    builders.append(cls())
    builders.sort(key=lambda builder: not builder.ships_input)  # stable: registration order within each
    return cls


def _ensure_builtin_builders_loaded() -> None:
    from microexp.inputs import (  # noqa: F401
        apex,
        descriptors,
        dynamic_image,
        flow,
        flow_png,
        frames,
        landmarks,
        region_mosaic,
    )


def builder_names() -> list[str]:
    _ensure_builtin_builders_loaded()
    return sorted(_BUILDERS)


def builder_for(spec: InputSpec, samples: pd.DataFrame, table_name: str = "the table") -> Builder:
    """The builder that makes ``spec`` for every row of ``samples``."""
    lacking = " for every clip, which this table does not have"
    return _first_builder(spec, lambda builder: builder.applies(samples), table_name, lacking)


def builder_for_row(spec: InputSpec, row: Mapping[str, Any]) -> Builder:
    """The builder that makes ``spec`` for one clip, given as a row dict (no table needed)."""
    where = f"clip {row.get('clip_id')}"
    return _first_builder(spec, lambda builder: builder.applies_to_row(row), where, ", which it does not have")


def _first_builder(spec: InputSpec, applies: Callable[[Builder], bool], where: str, lacking: str) -> Builder:
    _ensure_builtin_builders_loaded()
    if spec.builder not in _BUILDERS:
        raise ConfigError(f"input builder {spec.builder!r} is unknown; registered builders: {builder_names()}")
    for builder in _BUILDERS[spec.builder]:
        builder.check_shape(spec.shape)  # a wrong declaration is a model's defect, whatever the table
    for builder in _BUILDERS[spec.builder]:
        if applies(builder):
            return builder
    needed = sorted({c for b in _BUILDERS[spec.builder] for c in b.columns})
    raise DataError(
        f"{where}: input {spec.describe()} needs one of the columns {needed} filled{lacking}; "
        "load the database with its frames (--data-dir pointing at your copy) or choose a model for the inputs "
        "it has"
    )


def row_builders(spec: InputSpec, samples: pd.DataFrame, table_name: str = "the table") -> list[Builder]:
    """The builder of ``spec`` for each row, chosen per source database of a study's concatenated table
    (its ``domain`` column): the composite ships its flows while CK+ beside it has frames to compute them
    from. A table of one database has one builder for every row."""
    if "domain" not in samples.columns:
        return [builder_for(spec, samples, table_name)] * len(samples)
    domains = samples["domain"].astype(str).to_numpy()
    chosen = {
        domain: builder_for(spec, samples[domains == domain], f"{table_name} ({domain})")
        for domain in dict.fromkeys(domains)
    }
    return [chosen[domain] for domain in domains]


def builder_kind(spec: InputSpec) -> str:
    _ensure_builtin_builders_loaded()
    return _BUILDERS[spec.builder][0].kind


Progress = Callable[[int, int], None]
