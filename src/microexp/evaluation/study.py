"""Studies as data: a run spec says everything a run does, is validated whole before any folder is written
or any input built, and is what ``evaluate``, ``train``, ``run`` and the benchmarks all call.

A run spec holds the tables (databases, label maps, roles), the model and its options, the training
configuration, the input settings, the splitter and its options, the seeds and optional training stages.
Command lines change it with one override grammar, ``section.key=value`` (the value read as YAML)::

    model.dropout=0.3          a model option (see ``microexp models``)
    train.epochs=10            a training option (TrainConfig)
    inputs.flow_method=dis     an input setting (InputSettings)
    splitter=subject-kfold     the splitter; splitter.n_splits=5 one of its options

Several tables: the first is evaluated; a table with role ``train`` only trains (macro-expression data for
a micro-expression model, say). Tables concatenate with ``domain`` (the database) and ``role`` columns;
splitters fold over the evaluated rows and keep each test subject out of training in every table. Stages
train in order on the fold's training rows of the domains each names, each starting from the weights the
previous one left (pre-train on CK+, then fine-tune on the composite, in every fold).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from microexp.data.schema import SampleTable
from microexp.errors import ConfigError, DataNotFoundError
from microexp.inputs.spec import InputSettings
from microexp.models.registry import check_model_options, create_model, get_model_info
from microexp.threads import one_thread
from microexp.training.config import TrainConfig

SECTIONS = ("model", "train", "inputs", "splitter")
ROLES = ("evaluate", "train")
Reporter = Callable[[str, int, int], None]  # (what: "inputs" | "folds" | "epochs", done, total)


@dataclass(frozen=True)
class TableSpec:
    """One database of a study: where it is, the label map it is read with and its role."""

    dataset: str
    data_dir: Path
    label_map: str | None = None  # None: the database's default
    role: str = "evaluate"

    def __post_init__(self) -> None:
        from microexp.data.registry import get_dataset

        get_dataset(self.dataset)
        if self.role not in ROLES:
            raise ConfigError(f"table {self.dataset}: role {self.role!r} is unknown; expected one of {ROLES}")
        object.__setattr__(self, "data_dir", Path(self.data_dir))

    def record(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "data_dir": str(self.data_dir.resolve()),
            "label_map": self.label_map,
            "role": self.role,
        }


@dataclass(frozen=True)
class StageSpec:
    """One training stage: the domains (databases) whose training rows it trains on, and the training
    options that differ from the run's."""

    domains: tuple[str, ...]
    train: Mapping[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        return {"domains": list(self.domains), "train": dict(self.train)}


@dataclass(frozen=True)
class RunSpec:
    tables: tuple[TableSpec, ...]
    model: str
    model_options: Mapping[str, Any] = field(default_factory=dict)
    train: TrainConfig = field(default_factory=TrainConfig)
    inputs: InputSettings = field(default_factory=InputSettings)
    splitter: str | None = None  # None: the evaluated database's default
    splitter_options: Mapping[str, Any] = field(default_factory=dict)
    seeds: tuple[int, ...] = (0,)
    stages: tuple[StageSpec, ...] = ()

    def __post_init__(self) -> None:
        if not self.tables or self.tables[0].role != "evaluate":
            raise ConfigError("a study's first table is the one evaluated (role evaluate)")
        names = [t.dataset for t in self.tables]
        if len(set(names)) != len(names):
            raise ConfigError(f"a study names each database once; got {names}")
        check_model_options(self.model, self.model_options)  # an unknown model raises here too
        # numpy's generators take no negative seed
        seeds_ok = all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in self.seeds)
        if not self.seeds or len(set(self.seeds)) != len(self.seeds) or not seeds_ok:
            raise ConfigError(
                f"seeds: expected distinct non-negative integers such as [0, 1, 2], got {list(self.seeds)}"
            )
        for stage in self.stages:
            unknown = sorted(set(stage.domains) - set(names))
            if unknown or not stage.domains:
                raise ConfigError(
                    f"stage domains {list(stage.domains)}: each must be one of the study's tables {names}"
                )
            self.train.replace(**stage.train)  # unknown or invalid training options raise now
        self.splitter_instance()  # an unknown splitter or option raises now

    @property
    def evaluated(self) -> TableSpec:
        return self.tables[0]

    def stage_configs(self) -> list[tuple[tuple[str, ...] | None, TrainConfig]]:
        """(domains, config) per stage; without stages, one over every training row."""
        if not self.stages:
            return [(None, self.train)]
        return [(stage.domains, self.train.replace(**stage.train)) for stage in self.stages]

    def splitter_instance(self):
        """The splitter: the spec's, or the evaluated database's default."""
        from microexp.data.registry import get_dataset
        from microexp.data.splitters import make_splitter

        adapter = get_dataset(self.evaluated.dataset)
        name = self.splitter or adapter.default_splitter
        options = dict(self.splitter_options)
        if self.splitter is None:
            options = {**getattr(adapter, "default_splitter_options", {}), **options}
        return make_splitter(name, options)

    def splitter_name(self) -> str:
        from microexp.data.registry import get_dataset

        return self.splitter or get_dataset(self.evaluated.dataset).default_splitter

    def record(self) -> dict[str, Any]:
        """What config.json holds: everything that decides the predictions."""
        return {
            "tables": [t.record() for t in self.tables],
            "model": self.model,
            "model_options": dict(self.model_options),
            "train_config": dataclasses.asdict(self.train),
            "inputs": self.inputs.as_dict(),
            "splitter": self.splitter_name(),
            "splitter_options": dict(self.splitter_options),
            "seeds": list(self.seeds),
            "stages": [s.record() for s in self.stages],
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> RunSpec:
        """The spec a run folder's config.json records (also the format of runs before run specs)."""
        if "tables" not in record:  # a run folder from before run specs: one LOSO table
            # `ckplus` read still images then; it reads sequences now
            dataset = "ckplus-stills" if record["dataset"] == "ckplus" else record["dataset"]
            tables = [TableSpec(dataset, Path(record["data_dir"]), record.get("protocol"))]
            return cls(
                tuple(tables),
                record["model"],
                dict(record.get("model_options") or {}),
                TrainConfig.from_dict(record["train_config"]),
                splitter="loso",
                seeds=tuple(record["seeds"]),
            )
        return cls(
            tuple(
                TableSpec(t["dataset"], Path(t["data_dir"]), t.get("label_map"), t.get("role", "evaluate"))
                for t in record["tables"]
            ),
            record["model"],
            dict(record.get("model_options") or {}),
            TrainConfig.from_dict(record["train_config"]),
            InputSettings.from_dict(record.get("inputs")),
            record.get("splitter"),
            dict(record.get("splitter_options") or {}),
            tuple(record["seeds"]),
            tuple(StageSpec(tuple(s["domains"]), dict(s.get("train") or {})) for s in record.get("stages") or ()),
        )


def parse_overrides(pairs: Sequence[str]) -> dict[str, Any]:
    """``section.key=value`` strings into {section: {key: value}} (``splitter=name`` sets the name)."""
    from microexp.training.config import parse_value

    parsed: dict[str, Any] = {section: {} for section in SECTIONS}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if key == "splitter" and sep:
            name = parse_value(text)
            if not isinstance(name, str):
                raise ConfigError(f"--set splitter=NAME expects a splitter name such as subject-kfold; got {text!r}")
            parsed["splitter_name"] = name
            continue
        section, dot, name = key.partition(".")
        if not sep or not dot or not name or section not in SECTIONS:
            raise ConfigError(
                f"--set expects section.key=value with a section of {SECTIONS} (model.dropout=0.3, train.epochs=10, "
                f"inputs.flow_method=dis, splitter.n_splits=5) or splitter=NAME; got {pair!r}"
            )
        parsed[section][name] = parse_value(text)
    return parsed


def make_run_spec(
    *,
    dataset: str,
    data_dir: str | Path,
    model: str,
    label_map: str | None = None,
    seeds: Sequence[int] = (0,),
    overrides: Sequence[str] = (),
    model_options: Mapping[str, Any] | None = None,
    train: Mapping[str, Any] | None = None,
    inputs: Mapping[str, Any] | None = None,
    splitter: str | None = None,
    splitter_options: Mapping[str, Any] | None = None,
    extra_tables: Sequence[TableSpec] = (),
    stages: Sequence[StageSpec] = (),
) -> RunSpec:
    """A validated run spec: the model's registered training defaults, then ``train``, then ``overrides``;
    the same order for the other sections."""
    parsed = parse_overrides(overrides)
    info = get_model_info(model)
    table = TableSpec(dataset, Path(data_dir), label_map)
    return RunSpec(
        tables=(table, *extra_tables),
        model=model,
        model_options={**(model_options or {}), **parsed["model"]},
        train=TrainConfig.from_dict({**info.training, **(train or {}), **parsed["train"]}),
        inputs=InputSettings.from_dict({**(inputs or {}), **parsed["inputs"]}),
        splitter=parsed.get("splitter_name", splitter),
        splitter_options={**(splitter_options or {}), **parsed["splitter"]},
        seeds=tuple(seeds),
        stages=tuple(stages),
    )


def load_study_table(spec: RunSpec) -> SampleTable:
    """The evaluated table alone, or every table of the study concatenated with domain and role."""
    from microexp.data.registry import load_table
    from microexp.data.schema import concat_tables

    for table in spec.tables:
        if not table.data_dir.exists():
            raise DataNotFoundError(f"{table.dataset}: data folder {table.data_dir} does not exist; give your copy")
    loaded = [load_table(t.dataset, t.data_dir, t.label_map) for t in spec.tables]
    if len(loaded) == 1:
        return loaded[0]
    # the domain of a row is its database's registered name, which stages name
    named = [SampleTable(t.dataset, table.classes, table.samples) for t, table in zip(spec.tables, loaded, strict=True)]
    return concat_tables(named, [t.role for t in spec.tables], name=loaded[0].name)


def table_fingerprint(table: SampleTable) -> str:
    """A digest of what decides a run besides its options: every clip, subject, label and annotation. A
    resumed run whose data changed since (labels edited, clips added) is refused rather than mixed."""
    columns = [c for c in ("clip_id", "subject", "label", "onset", "apex", "offset", "role") if c in table.samples]
    text = table.samples[columns].astype(str).to_csv(index=False) + json.dumps(list(table.classes))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def inputs_by_dataset(table: SampleTable, settings: InputSettings) -> dict[str, dict[str, str]]:
    """The face geometry and still-face handling each database of the table is built with: the settings'
    ``auto`` resolved by what each adapter declares (a composite's parts may differ). Recorded in the run
    folder and the bundle, so a record says how the faces were taken, not only "auto"."""
    resolved: dict[str, dict[str, set[str]]] = {}
    for row in table.samples.to_dict("records"):
        row_settings = settings.resolve_for_row(row)
        entry = resolved.setdefault(str(row["dataset"]), {"face_geometry": set(), "still_faces": set()})
        entry["face_geometry"].add(row_settings.face_geometry)
        entry["still_faces"].add(row_settings.still_faces)
    return {
        dataset: {key: ", ".join(sorted(values)) for key, values in entry.items()}
        for dataset, entry in sorted(resolved.items())
    }


def check_model_builds(spec: RunSpec, num_classes: int) -> None:
    """Build the model once, so a bad option value fails now, not in every worker after the inputs."""
    try:
        create_model(spec.model, num_classes=num_classes, **spec.model_options)
    except ConfigError:
        raise
    except (TypeError, ValueError, RuntimeError) as error:
        raise ConfigError(f"model {spec.model!r} with options {dict(spec.model_options)}: {error}") from None


def check_inputs(spec: RunSpec, table: SampleTable) -> None:
    """Raise now when the table cannot give the model's inputs (a flow model on a table without frames)."""
    from microexp.inputs.registry import row_builders

    default = InputSettings()
    for input_spec in get_model_info(spec.model).inputs.values():
        for builder in dict.fromkeys(row_builders(input_spec, table.samples, table.name)):
            changed = [n for n in builder.fixed_settings if getattr(spec.inputs, n) != getattr(default, n)]
            if changed:
                raise ConfigError(
                    f"{table.name} ships its {input_spec.builder} inputs already made: inputs."
                    f"{', inputs.'.join(changed)} cannot change them; leave them out, or compute the inputs from "
                    "the database's frames instead"
                )


def check_teacher(spec: RunSpec, table: SampleTable) -> None:
    """A MiNet taught by a MaNet bundle (``model.teacher``): refuse a teacher trained on any database of this
    study, whose subjects would then reach MaNet whatever the folds (leakage), or on other class names."""
    path = spec.model_options.get("teacher")
    if path is None:
        return
    from microexp.models.micro_macro import teacher_databases, teacher_description

    description = teacher_description(path)
    study = {part.split(":")[0] for part in str(table.name).split("+")} | set(table.samples["dataset"].astype(str))
    shared = sorted(teacher_databases(description) & study)
    if shared:
        raise ConfigError(
            f"teacher bundle {path} was trained on {', '.join(shared)}, which this study evaluates: its test "
            "subjects would reach MaNet; train the teacher on a macro database (ckplus, ckplus48)"
        )
    if (
        description["model"] == "manet_faces"
        and create_model(spec.model, num_classes=len(table.classes), **spec.model_options).use_relation
    ):
        raise ConfigError(
            f"teacher bundle {path} is face-only (manet_faces): it has no temporal features to teach a relation; "
            "--set model.relation=false, or a teacher trained as manet on sequences"
        )
    if list(description.get("classes") or ()) != list(table.classes):
        raise ConfigError(
            f"teacher bundle {path} has classes {description.get('classes')}, this study {list(table.classes)}: "
            "train the teacher with the study's label map (e.g. --label-map megc3)"
        )


def _stages(spec: RunSpec):
    return tuple(spec.stage_configs()) if spec.stages else ()


def evaluate(
    spec: RunSpec,
    out: Path,
    *,
    executor=None,
    workers: int = 1,
    cache_dir: Path | None = None,
    overwrite: bool = False,
    report: Reporter | None = None,
    on_resume: Callable[[int], None] | None = None,
    epoch_curves: bool = False,
) -> tuple[dict, bool]:
    """Cross-validate ``spec`` into the run folder ``out``, resuming what an earlier invocation of the same
    run finished. Returns (summary, whether it was already complete). Everything is validated, the tables
    loaded and the model built once before the folder is touched. ``on_resume(finished tasks)`` is called
    once the folder is accepted for resuming (same spec, same data), never before. ``epoch_curves``: also
    keep each task's test-fold probabilities after every epoch (see
    :func:`~microexp.evaluation.runner.cross_validate`); a finished run without them trains again, to the
    same predictions."""
    from microexp.evaluation.report import (
        SUMMARY_FILE,
        count_finished_curves,
        count_finished_tasks,
        is_complete,
        open_run,
        write_run,
    )
    from microexp.evaluation.runner import Stopwatch, cross_validate, summarise
    from microexp.inputs.fingerprint import data_fingerprint

    clock = Stopwatch()
    table = load_study_table(spec)
    check_model_builds(spec, len(table.classes))
    check_inputs(spec, table)
    check_teacher(spec, table)
    splitter = spec.splitter_instance()
    list(splitter.split(table))  # folds the table cannot give (10 of 6 subjects) are refused before out is written
    record = {
        **spec.record(),
        "table_fingerprint": table_fingerprint(table),
        "inputs_by_dataset": inputs_by_dataset(table, spec.inputs),
    }
    data = data_fingerprint(table, get_model_info(spec.model).inputs, spec.inputs, cache_dir)
    _upgrade_old_record(out, spec, record)
    open_run(out, record, data=data, overwrite=overwrite)
    finished = count_finished_tasks(out)
    if epoch_curves:  # a task saved without its curve runs again
        finished = min(finished, count_finished_curves(out))
    if is_complete(out) and finished == count_finished_tasks(out):
        return json.loads((out / SUMMARY_FILE).read_text()), True
    if finished and on_resume is not None:
        on_resume(finished)

    def tell(what: str) -> Callable[[int, int], None] | None:
        return None if report is None else (lambda done, total: report(what, done, total))

    predictions = cross_validate(
        table,
        spec.model,
        seeds=spec.seeds,
        config=spec.train,
        model_options=spec.model_options,
        splitter=splitter,
        input_settings=spec.inputs,
        cache_dir=cache_dir,
        workers=workers,
        executor=executor,
        run_dir=out,
        stages=_stages(spec),
        on_task_done=None if report is None else (lambda done, total, name: report("folds", done, total)),
        on_epoch=None if report is None else (lambda epoch, total, loss: report("epochs", epoch, total)),
        on_build=tell("inputs"),
        epoch_curves=epoch_curves,
    )
    summary = summarise(predictions, table, model=spec.model, wall_seconds=clock.seconds)
    summary["splitter"] = spec.splitter_name()
    write_run(out, record, predictions, summary)
    return summary, False


def _upgrade_old_record(out: Path, spec: RunSpec, record: Mapping[str, Any]) -> None:
    """A run folder from before run specs records the same run in the old keys: rewrite them in the new
    form so the run resumes instead of being refused."""
    from microexp.evaluation.report import CONFIG_FILE
    from microexp.files import write_json

    path = out / CONFIG_FILE
    if not path.is_file():
        return
    old = json.loads(path.read_text())
    if "tables" in old:
        return
    try:
        same = RunSpec.from_record(old).record() == spec.record()
    except (ConfigError, KeyError, TypeError):
        return
    if same:
        write_json(path, record)


def train_bundle(
    spec: RunSpec,
    out: Path,
    *,
    seed: int = 0,
    cache_dir: Path | None = None,
    report: Reporter | None = None,
) -> tuple[Path, SampleTable]:
    """Train ``spec``'s model on every row of its tables (stages as in evaluation) and save a bundle that
    records the input settings, so ``predict`` makes the same inputs from a new clip.

    Inputs and training run with one thread, as every evaluation task does (:mod:`microexp.threads`): a
    bundle is then the same to the last bit on any machine and whatever OMP_NUM_THREADS says, which matters
    where a bundle teaches other models (a MaNet teacher trained with two threads taught MiNet to another
    UF1 in the third decimal, docs/results/micro_macro.md)."""
    from microexp.evaluation.runner import train_on_rows
    from microexp.inputs.build import build_inputs
    from microexp.training.bundle import save_bundle

    table = load_study_table(spec)
    check_model_builds(spec, len(table.classes))
    check_inputs(spec, table)
    check_teacher(spec, table)
    info = get_model_info(spec.model)
    with one_thread():
        built = build_inputs(
            table,
            info.inputs,
            spec.inputs,
            cache_dir=cache_dir,
            workers=1,
            progress=None if report is None else (lambda done, total: report("inputs", done, total)),
        )
        trained = train_on_rows(
            spec.model,
            built,
            np.arange(len(built)),
            seed=seed,
            config=spec.train,
            model_options=spec.model_options,
            stages=_stages(spec),
            on_epoch=None if report is None else (lambda epoch, total, loss: report("epochs", epoch, total)),
        )
    path = save_bundle(
        out,
        trained,
        classes=table.classes,
        dataset=table.name,
        preprocessing={
            "inputs": spec.inputs.as_dict(),
            "inputs_by_dataset": inputs_by_dataset(table, spec.inputs),
            "trained_on": table.name,
        },
        train_config=spec.train,
    )
    return path, table
