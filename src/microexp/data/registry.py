"""The databases microexp can read: name -> adapter class, for the CLI and for code that takes a name."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from microexp.data.casme2 import CASME2
from microexp.data.casme2_long import CASME2Long
from microexp.data.casme3 import CASME3PartA, CASME3PartC
from microexp.data.ckplus import CKPlus, CKPlus48, CKPlusStills
from microexp.data.composite import MEGC2019Composite
from microexp.data.dfme import DFME
from microexp.data.fer2013 import FER2013
from microexp.data.jaffe import JAFFE
from microexp.data.megc2019 import MEGC2019
from microexp.data.mmew import MMEW
from microexp.data.samm import SAMM
from microexp.data.samm_long import SAMMLong
from microexp.data.schema import SampleTable
from microexp.data.smic import SMIC
from microexp.data.synthetic import SyntheticMicroExpressions
from microexp.data.synthetic_long import SyntheticLongVideos
from microexp.errors import ConfigError

DATASETS = {
    adapter.name: adapter
    for adapter in (
        *(MEGC2019, CASME2, SAMM, SMIC, CASME2Long, SAMMLong, CASME3PartA, CASME3PartC, MMEW, DFME, MEGC2019Composite),
        *(CKPlus, CKPlusStills, CKPlus48, JAFFE, FER2013),  # macro-expressions: CK+ sequences, then stills
        SyntheticMicroExpressions,
        SyntheticLongVideos,
    )
}


def dataset_names() -> list[str]:
    return list(DATASETS)


def get_dataset(name: str) -> type:
    """The adapter class registered as ``name``."""
    if name not in DATASETS:
        raise ConfigError(f"unknown dataset {name!r}; expected one of {dataset_names()}")
    return DATASETS[name]


def open_dataset(name: str, root: str | Path | None = None, *, sheet: str | Path | Sequence[str | Path] | None = None):
    """An adapter for a copy at ``root``; ``sheet`` overrides where its annotation sheet is read from."""
    adapter = get_dataset(name)
    if adapter is MEGC2019Composite:
        if sheet is not None:
            raise ConfigError("megc2019-composite reads the sheets of its three parts; sheet= does not apply")
        return adapter(root)
    return adapter(root, sheet=sheet)


def load_table(name: str, data_dir: str | Path, label_map: str | None = None) -> SampleTable:
    """The validated sample table of the copy of database ``name`` at ``data_dir``."""
    return open_dataset(name, data_dir).load(label_map)
