"""Experiment files: the databases, models and seeds of one study, in YAML, as frozen dataclasses.

    name: composite
    out: runs/composite            # default runs/<name>; one run folder per <dataset>/<model> inside
    seeds: [0, 1, 2]
    executor: local                # local or ray
    workers: 2                     # local: processes; ray without an address: CPUs of the local cluster
    address: null                  # ray only: auto (the cluster of `ray start`) or ray://host:10001
    inputs: {}                     # input settings for every run (InputSettings fields)
    splitter: null                 # default: each database's own (loso for micro-expression databases)
    splitter_options: {}
    train_tables:                  # optional: databases that only train (never scored), in every run
      ckplus: {data_dir: ../shared/data/macro/ckplus_sequences, label_map: megc3}
    stages:                        # optional: train in order, each from the weights the last one left
      - {domains: [ckplus], train: {epochs: 20}}
      - {domains: [megc2019]}
    datasets:
      megc2019:                    # a name from `microexp datasets`
        data_dir: ../shared/data/megc2019
        label_map: null            # default: the database's
    models:
      ststnet:                     # a name from `microexp models`
        options: {}                # keyword options of the model
        training: {epochs: 200}    # TrainConfig fields, over the model's own defaults
      linear: {}
    leaderboard:                   # optional: rank the models (evaluation/leaderboard.py); runs then keep
      ensemble:                    # each fold's epoch curves for the test-fold selection (bias) columns
        name: microexp-ensemble    # a row averaging these models' probabilities, fixed before measuring
        members: [fr, ststnet, linear]

Overrides (``microexp run FILE --set key=value``, the value read as YAML): ``section.key`` with a section
of the run-spec grammar (``train.epochs=10``, ``model.dropout=0.3``, ``inputs.norm=magnitude``,
``splitter.n_splits=5``) applies to every run; any other key is a dotted path into this tree, e.g.
``seeds=[0,1]``, ``models.ststnet.training.epochs=10``, ``datasets.megc2019.data_dir=/data/megc2019``,
``executor=ray``. A new name under ``models`` or ``datasets`` adds an entry. Relative paths are relative
to the directory microexp runs in. Every run spec is validated before the first run starts.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from microexp.data.registry import get_dataset
from microexp.errors import ConfigError
from microexp.evaluation.executors import EXECUTORS
from microexp.evaluation.leaderboard import EnsembleSpec, LeaderboardSpec, check_leaderboard
from microexp.evaluation.study import SECTIONS, RunSpec, StageSpec, TableSpec, make_run_spec
from microexp.models.registry import get_model_info
from microexp.textfiles import read_yaml
from microexp.training.config import TrainConfig, parse_value


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    data_dir: Path
    label_map: str | None = None


@dataclass(frozen=True)
class ModelSpec:
    name: str
    options: Mapping[str, Any] = field(default_factory=dict)
    training: Mapping[str, Any] = field(default_factory=dict)

    def train_config(self) -> TrainConfig:
        return TrainConfig.from_dict({**get_model_info(self.name).training, **self.training})


@dataclass(frozen=True)
class Experiment:
    name: str
    datasets: tuple[DatasetSpec, ...]
    models: tuple[ModelSpec, ...]
    seeds: tuple[int, ...] = (0, 1, 2)
    executor: str = "local"
    workers: int = 2
    address: str | None = None
    out: Path | None = None
    inputs: Mapping[str, Any] = field(default_factory=dict)
    splitter: str | None = None
    splitter_options: Mapping[str, Any] = field(default_factory=dict)
    train_tables: tuple[DatasetSpec, ...] = ()
    stages: tuple[StageSpec, ...] = ()
    leaderboard: LeaderboardSpec | None = None
    section_overrides: tuple[str, ...] = ()  # ``train.epochs=10`` and the like, for every run

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise ConfigError(f"executor: {self.executor!r} is unknown; expected one of {EXECUTORS}")
        if not isinstance(self.workers, int) or self.workers < 1:
            raise ConfigError(f"workers: expected a positive integer, got {self.workers!r}")
        if self.leaderboard is not None:
            check_leaderboard(self.leaderboard, [m.name for m in self.models], [d.name for d in self.datasets])

    @property
    def out_dir(self) -> Path:
        return self.out or Path("runs") / self.name

    def run_dir(self, dataset: DatasetSpec, model: ModelSpec) -> Path:
        return self.out_dir / dataset.name / model.name

    def runs(self) -> list[tuple[Path, RunSpec]]:
        """(run folder, validated run spec) of every (dataset, model), all checked before any runs."""
        return [
            (
                self.run_dir(dataset, model),
                make_run_spec(
                    dataset=dataset.name,
                    data_dir=dataset.data_dir,
                    model=model.name,
                    label_map=dataset.label_map,
                    seeds=self.seeds,
                    overrides=self.section_overrides,
                    model_options=model.options,
                    train=model.training,
                    inputs=self.inputs,
                    splitter=self.splitter,
                    splitter_options=self.splitter_options,
                    extra_tables=[
                        TableSpec(t.name, t.data_dir, t.label_map, role="train") for t in self.train_tables
                    ],
                    stages=self.stages,
                ),
            )
            for dataset in self.datasets
            for model in self.models
        ]


def _check_keys(values: Any, cls: type, where: str, *, derived: Sequence[str] = ()) -> dict[str, Any]:
    """``values`` as a dict of ``cls``'s fields (less ``derived``, which come from elsewhere); unknown and
    missing keys raise, naming the valid ones."""
    if values is None:
        values = {}
    if not isinstance(values, Mapping):
        raise ConfigError(f"{where}: expected a mapping of keys to values, got {values!r}")
    fields = [f for f in dataclasses.fields(cls) if f.name not in derived]
    valid = [f.name for f in fields]
    unknown = sorted(set(values) - set(valid))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; valid keys: {valid}")
    required = [f.name for f in fields if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    missing = [name for name in required if name not in values]
    if missing:
        raise ConfigError(f"{where}: missing key(s) {missing}; valid keys: {valid}")
    return dict(values)


def _named_entries(values: Any, where: str) -> dict[str, Any]:
    if not isinstance(values, Mapping) or not values:
        raise ConfigError(f"{where}: expected a mapping of names to settings, like {{ststnet: {{}}}}; got {values!r}")
    return dict(values)


def _seeds(values: Any) -> tuple[int, ...]:
    seeds = [values] if isinstance(values, int) else values
    if (
        not isinstance(seeds, list)
        or not seeds
        or not all(isinstance(s, int) for s in seeds)
        or len(set(seeds)) != len(seeds)
    ):
        raise ConfigError(f"seeds: expected a list of distinct integers such as [0, 1, 2], got {values!r}")
    return tuple(seeds)


FOLDER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _folder_name(value: Any) -> str:
    """The experiment's name, which names its folder under runs/: one plain folder name, so that a name like
    ``../x`` or ``/tmp/x`` cannot put the runs outside it (``out:`` says where on purpose)."""
    name = value if isinstance(value, str) else str(value) if type(value) is int else ""
    if not FOLDER_NAME.fullmatch(name):
        raise ConfigError(
            f"name: {value!r} is not a plain folder name; use letters, digits, '.', '-' and '_' (like "
            "composite-v2), and out: to put the runs elsewhere"
        )
    return name


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: expected a mapping such as {{key: value}}, got {value!r}")
    return dict(value)


def _text(value: Any, where: str, example: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{where}: expected text such as {example} (or nothing), got {value!r}")
    return value


def _folder(value: Any, where: str) -> Path:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: expected a folder path such as ../shared/data/megc2019, got {value!r}")
    return Path(value)


def _table(name: Any, entry: Any, where: str) -> DatasetSpec:
    get_dataset(name)
    spec = _check_keys(entry, DatasetSpec, where, derived=["name"])
    label_map = _text(spec.get("label_map"), f"{where}.label_map", "megc2019")
    return DatasetSpec(name, _folder(spec["data_dir"], f"{where}.data_dir"), label_map)


def experiment_from_dict(values: Mapping[str, Any]) -> Experiment:
    """Validate a parsed experiment file: every name, key, type and training option is checked here, before
    any work starts."""
    top = _check_keys(values, Experiment, "experiment", derived=["section_overrides"])
    datasets = [
        _table(name, entry, f"datasets.{name}") for name, entry in _named_entries(top["datasets"], "datasets").items()
    ]
    models = []
    for name, entry in _named_entries(top["models"], "models").items():
        spec = _check_keys(entry, ModelSpec, f"models.{name}", derived=["name"])
        options = _mapping(spec.get("options"), f"models.{name}.options")
        model = ModelSpec(name, options, _mapping(spec.get("training"), f"models.{name}.training"))
        model.train_config()  # an unknown model or training option raises now, not after hours of others
        models.append(model)
    top.update(name=_folder_name(top["name"]), datasets=tuple(datasets), models=tuple(models))
    if "seeds" in top:
        top["seeds"] = _seeds(top["seeds"])
    if top.get("out") is not None:
        top["out"] = _folder(top["out"], "out")
    for key in ("inputs", "splitter_options"):
        top[key] = _mapping(top.get(key), key)
    top["splitter"] = _text(top.get("splitter"), "splitter", "loso")
    top["address"] = _text(top.get("address"), "address", "auto")
    tables = _mapping(top.get("train_tables"), "train_tables")
    top["train_tables"] = tuple(_table(name, entry, f"train_tables.{name}") for name, entry in tables.items())
    stages = top.get("stages") or []
    if not isinstance(stages, list):
        raise ConfigError(
            f"stages: expected a list such as [{{domains: [ckplus]}}, {{domains: [megc2019]}}], got {stages!r}"
        )
    top["stages"] = tuple(_stage(entry, f"stages[{index}]") for index, entry in enumerate(stages))
    if "leaderboard" in top:
        top["leaderboard"] = _leaderboard(top["leaderboard"])
    return Experiment(**top)


def _leaderboard(entry: Any) -> LeaderboardSpec:
    spec = _check_keys(entry, LeaderboardSpec, "leaderboard")
    if spec.get("ensemble") is None:
        return LeaderboardSpec()
    ensemble = _check_keys(spec["ensemble"], EnsembleSpec, "leaderboard.ensemble")
    name, members = ensemble["name"], ensemble["members"]
    if not isinstance(name, str) or not name:
        raise ConfigError(f"leaderboard.ensemble.name: expected a row name such as microexp-ensemble, got {name!r}")
    if not isinstance(members, list) or not all(isinstance(member, str) for member in members):
        raise ConfigError(f"leaderboard.ensemble.members: expected a list of model names, got {members!r}")
    return LeaderboardSpec(EnsembleSpec(name, tuple(members)))


def _stage(entry: Any, where: str) -> StageSpec:
    spec = _check_keys(entry, StageSpec, where)
    domains = spec["domains"]
    if not isinstance(domains, list) or not all(isinstance(domain, str) for domain in domains):
        raise ConfigError(f"{where}.domains: expected a list of database names such as [ckplus], got {domains!r}")
    return StageSpec(tuple(domains), _mapping(spec.get("train"), f"{where}.train"))


def apply_overrides(values: Mapping[str, Any], pairs: Sequence[str]) -> dict[str, Any]:
    """A copy of the parsed file with each ``dotted.key=yaml value`` set; missing levels are created."""
    result = copy.deepcopy(dict(values))
    for pair in pairs:
        key, sep, text = pair.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(parts):
            raise ConfigError(f"--set expects dotted.key=value, like models.ststnet.training.epochs=10; got {pair!r}")
        node = result
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                where = ".".join(parts[: depth + 1])
                raise ConfigError(f"--set {pair!r}: {where} is {child!r}, not a mapping with key {parts[-1]!r}")
            node = child
        node[parts[-1]] = parse_value(text)
    return result


def load_experiment(path: Path, overrides: Sequence[str] = ()) -> Experiment:
    """The experiment file with ``overrides``; every run spec is validated here, before any run."""
    values = read_yaml(path, "experiment file")
    if not isinstance(values, Mapping):
        raise ConfigError(f"{path}: expected a YAML mapping (name, datasets, models, seeds, ...), got {values!r}")
    sections = tuple(pair for pair in overrides if pair.partition("=")[0].partition(".")[0] in SECTIONS)
    tree = [pair for pair in overrides if pair not in sections]
    experiment = dataclasses.replace(experiment_from_dict(apply_overrides(values, tree)), section_overrides=sections)
    experiment.runs()
    return experiment
