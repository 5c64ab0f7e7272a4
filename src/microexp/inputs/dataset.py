"""The per-sample dataset: one dict per clip, read from the input cache as it is asked for.

A sample is ``{"inputs": {name: float32 array}, "label": int, "domain": str, "clip_id": str}``. The
table it reads (made by :func:`~microexp.inputs.build.build_inputs`) holds only file paths, so it is
cheap to send to worker processes: each loads the samples it trains on, and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from microexp.data.schema import SampleTable
from microexp.errors import DataError
from microexp.inputs.build import input_column
from microexp.inputs.registry import builder_kind
from microexp.inputs.spec import InputSpec


def _load(entry: str | np.ndarray) -> np.ndarray:
    """A cached input: its file, or the array itself in a table packed to travel (see ``pack_inputs``)."""
    return np.load(entry) if isinstance(entry, str) else entry


def pack_inputs(table: SampleTable, names: Sequence[str]) -> SampleTable:
    """The built table with the arrays in place of their cache paths: for workers on other machines, which
    cannot read this machine's cache (a Ray cluster). Costs the arrays' memory in every worker."""
    columns = {input_column(name): [_load(p) for p in table.samples[input_column(name)]] for name in names}
    return SampleTable(table.name, table.classes, table.samples.assign(**columns))


class SampleDataset:
    """The rows ``rows`` (positions; default all) of a built table, for the inputs ``specs``."""

    def __init__(self, table: SampleTable, specs: Mapping[str, InputSpec], rows: Sequence[int] | None = None):
        missing = [name for name in specs if input_column(name) not in table.samples.columns]
        if missing:
            raise DataError(f"{table.name}: inputs {missing} were not built; call build_inputs first")
        self.table = table
        self.specs = dict(specs)
        self.kinds = {name: builder_kind(spec) for name, spec in self.specs.items()}
        self.rows = np.arange(len(table)) if rows is None else np.asarray(rows, dtype=np.int64)
        samples = table.samples.iloc[self.rows]
        self._paths = {name: samples[input_column(name)].tolist() for name in specs}
        self.labels = samples["label"].to_numpy(dtype=np.int64)
        self.subjects = samples["subject"].to_numpy()
        self.clip_ids = samples["clip_id"].tolist()
        self.domains = (samples["domain"] if "domain" in samples.columns else samples["dataset"]).astype(str).to_numpy()
        # a table of one database is all evaluated rows; a study's concatenation says each row's role
        self.roles = (
            samples["role"].astype(str).to_numpy() if "role" in samples.columns else np.full(len(samples), "evaluate")
        )

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return {
            "inputs": {name: _load(paths[index]) for name, paths in self._paths.items()},
            "label": int(self.labels[index]),
            "domain": str(self.domains[index]),
            "clip_id": self.clip_ids[index],
        }

    def arrays(self, positions: Sequence[int] | None = None) -> dict[str, np.ndarray]:
        """Inputs of the samples at ``positions`` (default all) stacked per name: (N, *shape) float32."""
        chosen = range(len(self)) if positions is None else positions
        return {
            name: np.stack([_load(paths[i]) for i in chosen])
            if len(chosen)
            else np.zeros((0, *spec.shape), np.float32)
            for (name, paths), spec in zip(self._paths.items(), self.specs.values(), strict=True)
        }

    def nbytes(self) -> int:
        return len(self) * sum(int(np.prod(spec.shape)) * 4 for spec in self.specs.values())


class ArrayDataset:
    """Samples already in memory, one array (N, *shape) per input name: for notebooks, tests and studies
    whose inputs come from elsewhere. The same interface as :class:`SampleDataset`."""

    def __init__(
        self,
        inputs: Mapping[str, np.ndarray],
        labels: Sequence[int],
        subjects: Sequence[str] | None = None,
        domains: Sequence[str] | None = None,
        roles: Sequence[str] | None = None,
    ) -> None:
        self.inputs = {name: np.asarray(x, dtype=np.float32) for name, x in inputs.items()}
        sizes = {len(x) for x in self.inputs.values()} | {len(labels)}
        if len(sizes) != 1:
            raise DataError(f"inputs and labels hold different numbers of samples: {sorted(sizes)}")
        self.specs = {name: InputSpec(name, tuple(x.shape[1:])) for name, x in self.inputs.items()}
        self.labels = np.asarray(labels, dtype=np.int64)
        count = len(self.labels)
        self.subjects = np.asarray(subjects if subjects is not None else np.arange(count).astype(str))
        self.domains = np.asarray(domains if domains is not None else ["data"] * count).astype(str)
        self.roles = np.asarray(roles if roles is not None else ["evaluate"] * count).astype(str)
        self.clip_ids = [str(i) for i in range(count)]

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return {
            "inputs": {name: x[index] for name, x in self.inputs.items()},
            "label": int(self.labels[index]),
            "domain": str(self.domains[index]),
            "clip_id": self.clip_ids[index],
        }

    def arrays(self, positions: Sequence[int] | None = None) -> dict[str, np.ndarray]:
        if positions is None:
            return dict(self.inputs)
        return {name: x[np.asarray(positions, dtype=np.int64)] for name, x in self.inputs.items()}

    def nbytes(self) -> int:
        return sum(x.nbytes for x in self.inputs.values())


def dataset_of(
    table: SampleTable,
    specs: Mapping[str, InputSpec],
    settings=None,
    *,
    cache_dir=None,
    workers: int = 1,
    progress=None,
) -> SampleDataset:
    """Every row of ``table`` as samples of the inputs ``specs``, building what is not cached yet."""
    from microexp.inputs.build import build_inputs

    built = build_inputs(table, specs, settings, cache_dir=cache_dir, workers=workers, progress=progress)
    return SampleDataset(built, specs)


def load_inputs(
    table: SampleTable, specs: Mapping[str, InputSpec], settings=None, *, cache_dir=None
) -> dict[str, np.ndarray]:
    """Every row's inputs in memory, stacked per name: for small tables, notebooks and tests."""
    return dataset_of(table, specs, settings, cache_dir=cache_dir).arrays()
