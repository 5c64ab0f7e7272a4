"""The one place inputs are made: for ``evaluate``, ``train``, ``explain``, ``predict`` and the benchmarks.

:func:`build_inputs` makes every declared input of every row of a table, or reads it from the cache, and
returns the table with a column ``input:<name>`` per input holding the cached ``.npy`` file. Worker
processes then receive the table, never the arrays, and load the samples they train on
(:class:`~microexp.inputs.dataset.SampleDataset`).

A cache entry's key is the bytes of the files (or in-memory frames) the builder reads, the builder's name
and version, the declared shape and the settings the builder uses, resolved for the row (``auto`` face
geometry becomes what the row's database declares, :meth:`InputSettings.resolve_for_row`): a corrected
frame, a changed setting or a new builder version never reads an old entry, and a moved database still
hits. Facts a builder found (a
spotted apex, the face box) are kept beside the array and come back as columns.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import tempfile
import warnings
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from microexp.errors import ConfigError, DataNotFoundError
from microexp.files import write_json
from microexp.inputs.registry import Builder, Progress, builder_for_row, row_builders
from microexp.inputs.spec import InputSettings, InputSpec
from microexp.preprocess.cache import ArrayCache
from microexp.threads import one_thread

if TYPE_CHECKING:  # the sample table needs pandas, which one clip's build (predict) does without
    import pandas as pd

    from microexp.data.schema import SampleTable

logger = logging.getLogger(__name__)

CACHE_FORMAT = 2  # of the key; bump when what a key covers changes
COLUMN_PREFIX = "input:"


def input_column(name: str) -> str:
    return f"{COLUMN_PREFIX}{name}"


def entry_key(builder: Builder, spec: InputSpec, settings: InputSettings, sources: list) -> str:
    digest = hashlib.sha256(f"microexp-inputs-v{CACHE_FORMAT}".encode())
    header = {
        "builder": builder.name,
        "implementation": type(builder).__name__,
        "version": builder.version,
        "shape": list(spec.shape),
        "settings": settings.subset(builder.settings_used),
    }
    digest.update(json.dumps(header, sort_keys=True, default=str).encode())
    for part in sources:
        if isinstance(part, np.ndarray):
            digest.update(f"{part.dtype}{part.shape}".encode())
            digest.update(np.ascontiguousarray(part).tobytes())
            continue
        try:
            digest.update(Path(part).read_bytes())
        except FileNotFoundError:
            raise DataNotFoundError(f"frame {part} does not exist; check your copy of the database") from None
    return digest.hexdigest()


def _info_path(array_path: Path) -> Path:
    return array_path.with_suffix(".json")


def _build_one(builder: Builder, row: dict, spec: InputSpec, settings: InputSettings, path: str) -> str:
    """Build one entry with ``settings`` resolved for ``row``."""
    array, info = builder.build(row, spec.shape, settings)
    if tuple(array.shape) != spec.shape:
        raise ConfigError(
            f"builder {spec.builder!r} made {tuple(array.shape)} for clip {row.get('clip_id')}, not {spec.shape}"
        )
    cache = ArrayCache(Path(path).parents[1])
    key = Path(path).stem
    if info:  # before the array: an array implies its facts are there
        write_json(_info_path(cache.path(key)), info)
    cache.put(key, np.asarray(array, dtype=np.float32))
    return path


def _build_one_threaded(*job: Any) -> str:
    with one_thread():  # in this process or a worker: a cache entry must not depend on where it was made
        return _build_one(*job)


_temporary_caches: list[tempfile.TemporaryDirectory] = []


def default_cache_dir() -> Path:
    """A cache for this process only, removed at exit: for library calls that give no cache folder."""
    if not _temporary_caches:
        _temporary_caches.append(tempfile.TemporaryDirectory(prefix="microexp-inputs-"))
    return Path(_temporary_caches[0].name)


def _input_cache(cache_dir: str | Path | None) -> ArrayCache:
    return ArrayCache((Path(cache_dir) if cache_dir is not None else default_cache_dir()) / "inputs")


def _entry_path(cache: ArrayCache, builder: Builder, spec: InputSpec, settings: InputSettings, row: dict) -> Path:
    return cache.path(entry_key(builder, spec, settings, builder.sources(row, settings)))


def build_clip_inputs(
    row: dict[str, Any],
    specs: Mapping[str, InputSpec],
    settings: InputSettings | None = None,
    *,
    cache_dir: str | Path | None = None,
) -> dict[str, str]:
    """One clip's inputs, its row a dict with the sample table's columns: the cached array's path per spec
    name, built where not cached yet, with the same builders, keys and cache as :func:`build_inputs`. For
    ``predict``, which has one clip and no study: it needs no table, so no pandas (0.2–0.3 s to import)."""
    settings = (settings or InputSettings()).resolve_for_row(row)
    cache = _input_cache(cache_dir)
    paths = {}
    for name, spec in specs.items():
        builder = builder_for_row(spec, row)
        path = _entry_path(cache, builder, spec, settings, row)
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            _build_one_threaded(builder, row, spec, settings, str(path))
        paths[name] = str(path)
    return paths


def build_inputs(
    table: SampleTable,
    specs: Mapping[str, InputSpec],
    settings: InputSettings | None = None,
    *,
    cache_dir: str | Path | None = None,
    workers: int = 1,
    progress: Progress | None = None,
) -> SampleTable:
    """``table`` with one column ``input:<name>`` per spec (the cached array's path) and the facts the
    builders found (``apex_spotted`` where an apex was spotted). Entries not cached yet are built, in
    ``workers`` processes; ``progress(done, total)`` follows the builds. The first failing clip raises."""
    settings = settings or InputSettings()
    if workers < 1:
        raise ConfigError(f"workers must be at least 1, got {workers}")
    from microexp.data.schema import SampleTable

    cache = _input_cache(cache_dir)
    rows = table.samples.to_dict("records")
    paths: dict[str, list[str]] = {}
    todo: list[tuple[Builder, dict, InputSpec, str]] = []
    queued: set[str] = set()
    resolved = [settings.resolve_for_row(row) for row in rows]
    for name, spec in specs.items():
        builders = row_builders(spec, table.samples, table.name)
        paths[name] = []
        for builder, row, row_settings in zip(builders, rows, resolved, strict=True):
            path = _entry_path(cache, builder, spec, row_settings, row)
            paths[name].append(str(path))
            if not path.is_file() and str(path) not in queued:  # identical clips are built once
                queued.add(str(path))
                todo.append((builder, row, spec, row_settings, str(path)))
    if todo:
        logger.info(
            "%s: building %d input(s), %d cached", table.name, len(todo), sum(map(len, paths.values())) - len(todo)
        )
        for folder in {Path(p).parent for *_, p in todo}:
            folder.mkdir(parents=True, exist_ok=True)
        if workers == 1 or len(todo) == 1:
            for done, job in enumerate(todo, 1):
                _build_one_threaded(*job)
                if progress:
                    progress(done, len(todo))
        else:
            # spawn, not fork: forking a process that already runs torch/OpenCV threads can deadlock
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(workers, mp_context=context) as pool:
                futures = [pool.submit(_build_one_threaded, *job) for job in todo]
                try:
                    for done, future in enumerate(futures, 1):
                        future.result()
                        if progress:
                            progress(done, len(todo))
                finally:
                    for future in futures:
                        future.cancel()
    samples = table.samples.assign(**{input_column(name): values for name, values in paths.items()})
    _warn_faceless_photographs(table, paths, rows)
    spotted = _spotted_apexes(paths)
    if spotted is not None:
        samples["apex_spotted"] = spotted
    return SampleTable(table.name, table.classes, samples)


def read_info(array_path: str | Path) -> dict[str, Any]:
    """The facts a builder recorded beside a cached array ({} when it recorded none)."""
    path = _info_path(Path(array_path))
    return json.loads(path.read_text()) if path.is_file() else {}


def _warn_faceless_photographs(table: SampleTable, paths: Mapping[str, list[str]], rows: list[dict]) -> None:
    """Say which photographs had no face and were used whole (``no_face="frame"``): a model trained on
    them sees head, shoulders and background there. Told on every build, from the facts kept in the cache,
    so a rerun that reads the cache says it too (worker processes cannot warn for the caller)."""
    for values in paths.values():
        faceless = []
        for row, path in zip(rows, values, strict=True):
            info = read_info(path)
            if info.get("still_face") and info.get("face_scheme") == "frame":
                faceless.append(str(row.get("apex_path") or row["clip_id"]))
        if faceless:
            shown = ", ".join(faceless[:3]) + (f" and {len(faceless) - 3} more" if len(faceless) > 3 else "")
            message = (
                f"{table.name}: no face found in {len(faceless)} photograph(s), used whole instead: {shown}; "
                "check them, or try --set inputs.face_backend=mtcnn"
            )
            logger.warning(message)
            warnings.warn(message, stacklevel=3)


def _spotted_apexes(paths: Mapping[str, list[str]]) -> pd.Series | None:
    import pandas as pd

    for values in paths.values():
        infos = [read_info(p) for p in values]
        if any(i.get("apex_method") not in (None, "annotation") for i in infos):
            return pd.array(
                [i.get("apex") if i.get("apex_method") not in (None, "annotation") else None for i in infos],
                dtype="Int64",
            )
    return None
