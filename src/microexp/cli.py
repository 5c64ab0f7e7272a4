"""The ``microexp`` command line. The only module that imports every stage.

Errors raised on purpose (:class:`~microexp.errors.MicroexpError`) become one clear line on stderr and
exit code 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from microexp.errors import ConfigError, DataNotFoundError, MicroexpError
from microexp.files import atomic_path, cache_root, write_figure, write_image, write_json, write_text

app = typer.Typer(
    name="microexp",
    help="Facial micro-expression recognition: data, preprocessing, methods and honest evaluation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)
_state = {"debug": False}


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False,
) -> None:
    _state["debug"] = debug
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def main() -> None:
    try:
        # Without standalone mode click returns a command's exit code (check's 1) instead of exiting with it.
        code = app(standalone_mode=False)
    except MicroexpError as error:
        if _state["debug"]:
            raise
        err_console.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except (typer.Exit, SystemExit) as stop:
        code = getattr(stop, "exit_code", None) if isinstance(stop, typer.Exit) else stop.code
        sys.exit(code or 0)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except MemoryError:
        if _state["debug"]:
            raise
        err_console.print(
            "[bold red]error:[/] out of memory; close other programs, give fewer --workers or a smaller "
            "train.batch_size",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(2)
    except Exception as error:
        # Usage errors come through here in non-standalone mode. Recent typer releases carry their own copy of
        # click, whose exceptions are not click's: match them by what they do, or every typo is a traceback.
        if callable(getattr(error, "show", None)) and isinstance(getattr(error, "exit_code", None), int):
            error.show()
            sys.exit(error.exit_code)
        raise
    sys.exit(code if isinstance(code, int) else 0)


# --- evaluation commands ---
DEFAULT_CACHE = cache_root()


def _parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"--seeds expects integers separated by commas, like 0,1,2; got {text!r}") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds needs at least one seed and no repeats; got {text!r}")
    return seeds


def _progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    )


def _scores_table(title: str, summary: dict) -> Table:
    """UF1 / UAR / accuracy, all and per part, as mean ± std over seeds."""
    table = Table(title=title)
    for column in ("part", "UF1", "UAR", "accuracy"):
        table.add_column(column, justify="left" if column == "part" else "right")

    def cell(stat: dict) -> str:
        return f"{stat['mean']:.4f} ± {stat['std']:.4f}"

    table.add_row("all", cell(summary["uf1"]), cell(summary["uar"]), cell(summary["accuracy"]), style="bold")
    for part, stats in summary["parts"].items():
        table.add_row(part, cell(stats["uf1"]), cell(stats["uar"]), cell(stats["accuracy"]))
    return table


ExecutorOption = Annotated[str, typer.Option("--executor", help="Where folds train: local or ray.")]
AddressOption = Annotated[
    str | None,
    typer.Option(
        "--address",
        help="Ray cluster: auto (this machine's `ray start`) or ray://host:10001. "
        "Default: a local cluster of --workers CPUs for the run.",
    ),
]


class _Reporter:
    """Progress bars for a study: input building, folds, and epochs of the fold in this process."""

    titles = {"inputs": "building inputs", "folds": "folds", "epochs": "epochs of the current fold"}

    def __init__(self, progress: Progress, title: str, show_epochs: bool) -> None:
        self.progress, self.title, self.show_epochs, self.bars = progress, title, show_epochs, {}

    def __call__(self, what: str, done: int, total: int) -> None:
        if what == "epochs" and not self.show_epochs:
            return
        if what not in self.bars:
            description = f"{self.title}: {self.titles[what]}" if what != "epochs" else self.titles[what]
            self.bars[what] = self.progress.add_task(description, total=total)
        self.progress.update(self.bars[what], completed=done, total=total)


def _run_study(
    spec, out: Path, *, executor, workers: int, cache_dir: Path, overwrite: bool, epoch_curves: bool = False
) -> dict:
    """Cross-validate a run spec into ``out`` with progress bars; say when it resumes or was complete."""
    from microexp.evaluation.executors import LocalExecutor
    from microexp.evaluation.study import evaluate as evaluate_study

    def resuming(finished: int) -> None:  # said only once the folder's spec and data are checked to match
        console.print(f"resuming {out}: {finished} finished task(s) kept, the others run now", soft_wrap=True)

    in_process = isinstance(executor, LocalExecutor) and executor.workers <= 1
    with _progress_bar() as progress:
        reporter = _Reporter(progress, f"{spec.model} on {spec.evaluated.dataset}", in_process)
        summary, complete = evaluate_study(
            spec,
            out,
            executor=executor,
            workers=workers,
            cache_dir=cache_dir,
            overwrite=overwrite,
            report=reporter,
            on_resume=resuming,
            epoch_curves=epoch_curves,
        )
    if complete:
        console.print(f"{out} holds this run, finished: its scores follow (--overwrite redoes it)", soft_wrap=True)
    return summary


def _run_title(summary: dict) -> str:
    splitter = summary.get("splitter", "loso")
    return (
        f"{summary['model']} on {summary['dataset']}: {splitter}, {summary['n_folds']} folds, "
        f"{summary['n_clips']} clips, seeds {summary['seeds']}"
    )


SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="section.key=value: model.dropout=0.3, train.epochs=10, inputs.flow_method=dis, "
        "splitter=subject-kfold, splitter.n_splits=5.",
    ),
]
LabelMapOption = Annotated[
    str | None, typer.Option("--label-map", help="How emotions map to classes (default: the database's).")
]
TrainTableOption = Annotated[
    list[str] | None,
    typer.Option(
        "--train-table",
        help="A training-only table DATASET:DIR[:LABEL_MAP] (repeatable), e.g. ckplus:CK+/:megc3.",
    ),
]


def _train_tables(values: list[str] | None):
    from microexp.evaluation.study import TableSpec

    tables = []
    for value in values or []:
        parts = value.split(":")
        if len(parts) not in (2, 3) or not all(parts[:2]):
            raise ConfigError(f"--train-table expects DATASET:DIR or DATASET:DIR:LABEL_MAP, got {value!r}")
        tables.append(TableSpec(parts[0], Path(parts[1]), parts[2] if len(parts) == 3 else None, role="train"))
    return tables


@app.command()
def evaluate(
    dataset: Annotated[str, typer.Option("--dataset", help="Database name (see `microexp datasets`).")],
    data_dir: Annotated[Path, typer.Option("--data-dir", help="Your copy of the database.")],
    model: Annotated[str, typer.Option("--model", help="Registered model (see `microexp models`).")],
    out: Annotated[Path, typer.Option("--out", help="Run folder; an interrupted run in it resumes.")],
    seeds: Annotated[str, typer.Option("--seeds", help="Comma-separated seeds; mean ± std over them.")] = "0,1,2",
    label_map: LabelMapOption = None,
    splitter: Annotated[
        str | None, typer.Option("--splitter", help="loso, subject-kfold or official (default: the database's).")
    ] = None,
    overrides: SetOption = None,
    train_tables: TrainTableOption = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Processes training folds in parallel.")] = 2,
    executor: ExecutorOption = "local",
    address: AddressOption = None,
    cache_dir: Annotated[Path, typer.Option("--cache-dir", help="Where built inputs are cached.")] = DEFAULT_CACHE,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Discard the run in --out and start again.")] = False,
) -> None:
    """Cross-validation (the database's splitter: leave-one-subject-out for micro-expression databases), one
    per seed; scores on predictions pooled over folds.

    The test fold never chooses anything: a fixed schedule, or early stopping on training subjects only.
    Everything is checked before --out is written. Each finished fold is saved in --out as it ends:
    rerunning the same command after an interruption finishes the rest; --out holding a run with other
    options or other data is refused.
    """
    from microexp.evaluation.executors import make_executor
    from microexp.evaluation.study import make_run_spec

    spec = make_run_spec(
        dataset=dataset,
        data_dir=data_dir,
        model=model,
        label_map=label_map,
        seeds=_parse_seeds(seeds),
        overrides=overrides or [],
        splitter=splitter,
        extra_tables=_train_tables(train_tables),
    )
    pool = make_executor(executor, workers=workers, address=address)
    summary = _run_study(spec, out, executor=pool, workers=workers, cache_dir=cache_dir, overwrite=overwrite)
    console.print(_scores_table(_run_title(summary), summary))
    console.print(f"wall time {summary['wall_seconds']:.1f} s; run folder {out}")


@app.command("run")
def run_experiment(
    experiment: Annotated[Path, typer.Argument(help="Experiment file (YAML): datasets, models, seeds, executor.")],
    overrides: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="section.key=value for every run (train.epochs=10, model.dropout=0.3, inputs.norm=magnitude), "
            "or a dotted key=YAML value over the file: seeds=[0,1], models.ststnet.training.epochs=10.",
        ),
    ] = None,
    executor: Annotated[str | None, typer.Option("--executor", help="local or ray (default: the file's).")] = None,
    address: AddressOption = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="Default: the file's.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Experiment folder (default: the file's).")] = None,
    cache_dir: Annotated[Path, typer.Option("--cache-dir", help="Where built inputs are cached.")] = DEFAULT_CACHE,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Discard the experiment's runs; start again.")] = False,
) -> None:
    """Run every (dataset, model) of an experiment file into OUT/<dataset>/<model>, then compare the models
    with the published figures (OUT/comparison.md and .csv). With a leaderboard section, each run also
    keeps its epoch curves and OUT/leaderboard.md, .csv and .png rank the models: published, honest and
    test-fold-selected (bias) figures side by side. Every run is checked before the first starts.
    Rerunning resumes an interrupted experiment."""
    from microexp.evaluation.comparison import comparison_frame, display_rows, write_comparison
    from microexp.evaluation.executors import make_executor
    from microexp.evaluation.experiment import load_experiment
    from microexp.evaluation.runner import Stopwatch

    clock = Stopwatch()
    study = load_experiment(experiment, overrides or [])
    flags = {"executor": executor, "address": address, "workers": workers, "out": out}
    study = dataclasses.replace(study, **{key: value for key, value in flags.items() if value is not None})
    pool = make_executor(study.executor, workers=study.workers, address=study.address)
    finished = []
    for run_dir, spec in study.runs():
        summary = _run_study(
            spec,
            run_dir,
            executor=pool,
            workers=study.workers,
            cache_dir=cache_dir,
            overwrite=overwrite,
            epoch_curves=study.leaderboard is not None,
        )
        console.print(_scores_table(_run_title(summary), summary))
        finished.append((run_dir, spec, summary))
    title = f"{study.name}: mean ± std over seeds {list(study.seeds)}"
    if study.leaderboard is not None:
        _write_leaderboard(study, finished, title)
    else:
        frame = comparison_frame([summary for _, _, summary in finished])
        paths = write_comparison(study.out_dir, frame, title)
        _print_table(title, *display_rows(frame))
        console.print(f"comparison written to {paths[0]} and {paths[1]}", soft_wrap=True)
    console.print(f"wall time {clock.seconds:.1f} s", soft_wrap=True)


def _print_table(title: str, header: list[str], cells: list[list[str]]) -> None:
    table = Table(title=title)
    for column in header:
        table.add_column(column, overflow="fold")
    for row in cells:
        table.add_row(*row)
    console.print(table)


def _write_leaderboard(study, finished, title: str) -> None:
    from microexp.evaluation.leaderboard import FinishedRun, display_rows, leaderboard_frame, write_leaderboard
    from microexp.viz.leaderboard import plot_leaderboard

    runs = [FinishedRun(run_dir, spec.model, spec.model_options, summary) for run_dir, spec, summary in finished]
    frame = leaderboard_frame(runs, study.leaderboard)
    paths = write_leaderboard(study.out_dir, frame, title)
    picture = write_figure(study.out_dir / "leaderboard.png", plot_leaderboard(frame, title), dpi=120)
    header, cells, sources = display_rows(frame)
    _print_table(title, header, cells)
    for number, source in enumerate(sources, start=1):
        console.print(f"[{number}] {source}", soft_wrap=True, highlight=False)
    console.print(
        "BIAS columns pick epochs with the test labels: they measure what selection adds, never a result.",
        soft_wrap=True,
    )
    console.print(f"leaderboard written to {paths[0]}, {paths[1]} and {picture}", soft_wrap=True)


@app.command()
def score(
    log: Annotated[Path, typer.Argument(help="MEGC submission log: '<dataset> <subject>' then '<clip> <gt> <pred>'.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    classes: Annotated[int, typer.Option("--classes", help="Classes of the log, 0..N-1 (MEGC2019: 3).")] = 3,
) -> None:
    """Score a MEGC log: UF1, UAR, accuracy and weighted F1 on pooled predictions, all and per part."""
    import json

    from microexp.evaluation.metrics import score_megc_log

    scores = score_megc_log(log, classes)
    if as_json:
        console.print_json(json.dumps({part: s.as_dict() for part, s in scores.items()}))
        return
    table = Table(title=f"{log.name}: pooled scores")
    for column in ("part", "clips", "UF1", "UAR", "accuracy", "weighted F1"):
        table.add_column(column, justify="left" if column == "part" else "right")
    for part, s in scores.items():
        table.add_row(part, str(s.n), f"{s.uf1:.4f}", f"{s.uar:.4f}", f"{s.accuracy:.4f}", f"{s.weighted_f1:.4f}")
    console.print(table)


@app.command()
def models() -> None:
    """List the registered models with the input each declares."""
    from microexp.models.registry import get_model_info, list_models, model_options

    table = Table(title="Registered models")
    for column in ("name", "backend", "inputs", "options", "description"):
        table.add_column(column, overflow="fold", no_wrap=column == "inputs")
    for name in list_models():
        info = get_model_info(name)
        table.add_row(name, info.backend, info.describe_inputs(), ", ".join(model_options(name)), info.description)
    console.print(table)


# --- dataset commands ---
@app.command("datasets")
def datasets_command() -> None:
    """List the supported databases, their label maps, default splitter and the layout each expects."""
    from rich.table import Table

    from microexp.data.registry import DATASETS

    table = Table(title="Supported databases")
    for column in ("name", "label maps", "splitter", "description", "expected layout"):
        table.add_column(column, overflow="fold")
    for name, adapter in DATASETS.items():
        default = adapter.default_label_map
        label_maps = ", ".join(p + (" (default)" if p == default else "") for p in adapter.label_maps)
        table.add_row(name, label_maps, adapter.default_splitter, adapter.description, adapter.layout)
    console.print(table)


@app.command("check")
def check_command(
    dataset: Annotated[str, typer.Option("--dataset", help="Database name (see `microexp datasets`).")],
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Your copy (vendor layout).")] = None,
    label_map: LabelMapOption = None,
    sheet: Annotated[list[Path] | None, typer.Option("--sheet", help="Sheet(s) if not in data dir.")] = None,
    all_frames: Annotated[bool, typer.Option("--all-frames", help="Open every frame.")] = False,
) -> None:
    """Validate a copy: missing clips and frames, damaged images, annotation defects; counts per class and
    subject. Exits 1 when problems were found. With --sheet and no --data-dir, checks the annotations only."""
    from rich.table import Table

    from microexp.data.registry import open_dataset

    if data_dir is None and not sheet:
        raise ConfigError("give --data-dir (your copy) or --sheet (annotations only)")
    if data_dir is not None and not data_dir.is_dir():
        raise DataNotFoundError(f"--data-dir {data_dir} does not exist")
    report = open_dataset(dataset, data_dir, sheet=sheet or None).check(label_map, all_frames=all_frames)
    samples, classes = report.table.samples, report.table.classes
    n_subjects = samples["subject"].nunique()
    counts = Table(title=f"{report.table.name}: {len(samples)} clips, {n_subjects} subjects")
    counts.add_column("subject")
    for name in classes:
        counts.add_column(name, justify="right")
    counts.add_column("total", justify="right")
    per_subject = samples.groupby(["subject", "label"]).size().unstack(fill_value=0)
    for subject, row in per_subject.iterrows():
        cells = (str(int(row.get(i, 0))) for i in range(len(classes)))
        counts.add_row(str(subject), *cells, str(int(row.sum())))
    totals = report.table.class_counts()
    counts.add_row("all", *(str(totals[name]) for name in classes), str(len(samples)), style="bold")
    console.print(counts)
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
    for problem in report.problems:
        console.print(f"[red]problem:[/] {problem}", highlight=False, soft_wrap=True)
    console.print(f"{len(report.problems)} problem(s)" if report.problems else "no problems found")
    if report.problems:
        raise typer.Exit(1)


# --- preprocessing commands ---
FaceGeometryOption = Annotated[
    str,
    typer.Option(
        "--face-geometry",
        help="detect (find the face, align on the eyes) or as-cropped (the frames are a database's face crops: "
        "resize them whole, as the MEGC2019 composite's flows were made).",
    ),
]


@app.command()
def flow(
    onset: Annotated[Path, typer.Argument(help="Onset frame image.")],
    apex: Annotated[Path, typer.Argument(help="Apex frame image.")],
    out: Annotated[Path, typer.Option("--out", help="Output PNG (R = u, G = v, B = strain).")],
    method: Annotated[str, typer.Option(help="Flow method: tvl1, farneback or dis.")] = "tvl1",
    size: Annotated[int, typer.Option(help="Output side in pixels (28 = the MEGC2019 composite).")] = 28,
    norm: Annotated[str, typer.Option(help="minmax (the composite's format) or magnitude.")] = "minmax",
    backend: Annotated[str, typer.Option(help="Face backend: dlib or mtcnn.")] = "dlib",
    crop_size: Annotated[int, typer.Option(help="Aligned face crop side; flow is computed at it.")] = 128,
    no_face: Annotated[str, typer.Option(help="raise, or frame: use the whole frame as the face.")] = "raise",
    face_geometry: FaceGeometryOption = "detect",
) -> None:
    """Optical flow and strain between two frames of one face, as a model-ready PNG.

    Frames that are a database's own face crops (CASME II Cropped/, SAMM or SMIC-HS crops): pass
    --face-geometry as-cropped to get the MEGC2019 composite's flows (docs/results/face_geometry.md)."""

    from microexp.preprocess.flow import check_normalisation, normalise
    from microexp.preprocess.pipeline import FlowSettings, pair_flow

    check_normalisation(norm)
    settings = FlowSettings(
        backend=backend, no_face=no_face, crop_size=crop_size, method=method, size=size, geometry=face_geometry
    )
    write_image(out, normalise(pair_flow(onset, apex, settings), norm))
    console.print(f"wrote {out} ({size}×{size}, {method}, {norm})")


@app.command("dynamic-image")
def dynamic_image_command(
    sources: Annotated[list[Path], typer.Argument(help="Clips: video files or folders of frames (one row each).")],
    out: Annotated[Path, typer.Option("--out", help="Output picture (.png).")],
    onset: Annotated[
        int | None, typer.Option("--onset", help="First frame (number in a folder, 0-based in a video); default 1st.")
    ] = None,
    offset: Annotated[
        int | None, typer.Option("--offset", help="Last frame, numbered like --onset; default last.")
    ] = None,
    size: Annotated[int, typer.Option("--size", help="Side of the dynamic image in pixels.")] = 112,
    model: Annotated[
        Path | None, typer.Option("--model", help="An FDP bundle: also its input frames' dynamic image and rebuild.")
    ] = None,
    backend: Annotated[str, typer.Option(help="Face backend: dlib or mtcnn.")] = "dlib",
    no_face: Annotated[str, typer.Option(help="raise, or frame: use the whole frame as the face.")] = "raise",
    face_geometry: FaceGeometryOption = "detect",
) -> None:
    """The dynamic image (approximate rank pooling of the aligned face, onset to offset) of one or more clips,
    as a picture: mid-grey is no change, bright brightened, dark darkened. With --model, an FDP bundle's view
    of each clip beside it."""
    from microexp.inputs import InputSettings
    from microexp.training.bundle import load_bundle
    from microexp.training.predict import clip_row, clip_span, clip_table, read_clip
    from microexp.viz.dynamic import clip_dynamic_image, plot_dynamic_images, rebuilt_dynamic_image

    if len(sources) > 1 and (onset is not None or offset is not None):
        raise ConfigError("--onset and --offset apply to one clip; give one source, or none of them")
    if size < 8:
        raise ConfigError(f"--size must be at least 8 pixels, got {size}")
    settings = InputSettings(face_backend=backend, no_face=no_face, face_geometry=face_geometry)
    bundle = None if model is None else load_bundle(model)
    rows = []
    for source in sources:
        if not source.exists():
            raise DataNotFoundError(f"{source} does not exist; give a video file or a folder of frames")
        frames, numbers = read_clip(source)
        first, last = clip_span(numbers, onset, offset, str(source))
        table = clip_table(clip_row(frames, numbers, str(source), first, None, last))
        panels = [(f"frames {first}–{last}", clip_dynamic_image(table, size, settings))]
        if bundle is not None:
            target, rebuilt = rebuilt_dynamic_image(bundle, table)
            count = bundle.inputs[next(iter(bundle.inputs))].shape[0]
            panels += [(f"its {count} input frames", target), (f"{bundle.model_name} rebuild", rebuilt)]
        rows.append((f"{source.parent.name}/{source.name}", panels))
    write_figure(out, plot_dynamic_images(rows, "dynamic images"), dpi=110)
    console.print(f"wrote {out} ({len(rows)} clip(s))")


@app.command()
def preprocess(
    out: Annotated[Path, typer.Option("--out", help="Output folder (with --dataset: the flow cache).")],
    frames: Annotated[Path | None, typer.Option("--frames", help="Folder of one clip's frames.")] = None,
    onset: Annotated[int | None, typer.Option("--onset", help="Onset frame number (img46.jpg is 46).")] = None,
    dataset: Annotated[
        str | None, typer.Option("--dataset", help="Preprocess a whole database (see `microexp datasets`).")
    ] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Your copy of --dataset.")] = None,
    label_map: LabelMapOption = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Processes for --dataset.")] = 2,
    apex: Annotated[int | None, typer.Option("--apex", help="Apex frame number; spotted when left out.")] = None,
    offset: Annotated[int | None, typer.Option("--offset", help="Last frame to align (default: apex).")] = None,
    method: Annotated[str, typer.Option(help="Flow method: tvl1, farneback or dis.")] = "tvl1",
    size: Annotated[int, typer.Option(help="Side of the (u, v, strain) output.")] = 28,
    norm: Annotated[str, typer.Option(help="minmax (the composite's format) or magnitude.")] = "minmax",
    backend: Annotated[str, typer.Option(help="Face backend: dlib or mtcnn.")] = "dlib",
    crop_size: Annotated[int, typer.Option(help="Aligned face crop side; flow is computed at it.")] = 128,
    no_face: Annotated[str, typer.Option(help="raise, or frame: use the whole frame as the face.")] = "raise",
    face_geometry: Annotated[
        str | None,
        typer.Option(
            "--face-geometry",
            help="detect (find and align the face) or as-cropped (the frames are the database's face crops: "
            "resize them whole). Default: detect for one clip, the database's declaration with --dataset.",
        ),
    ] = None,
) -> None:
    """One clip from its frame folder: aligned crops, the apex, the onset→apex flow and its pictures.

    Writes aligned/<frame>.png, flow.png (model input), flow.npy (float u, v, strain in crop pixels),
    flow_wheel.png (colour-wheel picture) and clip.json (what was done).

    With --dataset and --data-dir: every clip's onset→apex flow input (u, v, strain at --size, --norm),
    built into the input cache --out that evaluate and train read with --cache-dir (an interrupted run
    resumes).
    """

    import numpy as np
    from rich.progress import Progress

    from microexp.preprocess.flow import check_normalisation, flow_to_colour, normalise
    from microexp.preprocess.pipeline import FlowSettings, preprocess_clip
    from microexp.preprocess.video import list_frames

    check_normalisation(norm)
    if dataset is not None:
        if data_dir is None:
            raise ConfigError("--dataset needs --data-dir, the folder of your copy of the database")
        settings = FlowSettings(backend=backend, no_face=no_face, crop_size=crop_size, method=method, size=size)
        _preprocess_database(dataset, data_dir, label_map, out, settings, norm, workers, face_geometry or "auto")
        return
    settings = FlowSettings(
        backend=backend,
        no_face=no_face,
        crop_size=crop_size,
        method=method,
        size=size,
        geometry=face_geometry or "detect",
    )
    if frames is None or onset is None:
        raise ConfigError("give --frames and --onset for one clip, or --dataset and --data-dir for a database")
    with Progress(console=err_console, transient=True) as progress:
        progress.add_task(f"preprocessing {frames}", total=None)
        result = preprocess_clip(list_frames(frames), onset, apex, offset, settings)
    for path, crop in zip(result.frames, result.aligned, strict=True):
        write_image(out / "aligned" / f"{path.stem}.png", crop)
    write_image(out / "flow.png", normalise(result.features, norm))
    with atomic_path(out / "flow.npy") as temporary:
        np.save(temporary, result.features)
    write_image(out / "flow_wheel.png", flow_to_colour(result.flow))
    apex_path = result.frames[result.apex.index]
    summary = {
        "frames": str(frames),
        "onset": str(result.frames[0].name),
        "apex": apex_path.name,
        "apex_method": result.apex.method,
        "face_geometry": settings.geometry,
        "face_backend": backend,
        "face_score": result.face.score,
        "alignment_matrix": result.matrix.tolist(),
        "flow_method": method,
        "crop_size": crop_size,
        "size": size,
        "norm": norm,
    }
    write_json(out / "clip.json", summary)
    console.print(f"{len(result.frames)} frames aligned; apex {apex_path.name} ({result.apex.method}); wrote {out}")


def _preprocess_database(dataset, data_dir, label_map, out, settings, norm, workers, face_geometry) -> None:
    from microexp.data.registry import load_table
    from microexp.inputs.build import build_inputs
    from microexp.inputs.spec import InputSettings, InputSpec

    table = load_table(dataset, data_dir, label_map)
    inputs = InputSettings(
        face_backend=settings.backend,
        no_face=settings.no_face,
        crop_size=settings.crop_size,
        flow_method=settings.method,
        flow_size=settings.size,
        norm=norm,
        face_geometry=face_geometry,
    )
    with _progress_bar() as progress:
        bar = progress.add_task(f"optical flow of {table.name}", total=len(table))
        build_inputs(
            table,
            {"flow": InputSpec("flow", (3, settings.size, settings.size))},
            inputs,
            cache_dir=out,
            workers=workers,
            progress=lambda done, total: progress.update(bar, completed=len(table) - total + done),
        )
    console.print(f"{len(table)} clips of {table.name} preprocessed into {out}")


# --- explain and bundle commands ---


@app.command("explain")
def explain_command(
    run: Annotated[Path, typer.Option("--run", help="Evaluation run folder (from `microexp evaluate`).")],
    clip: Annotated[str, typer.Option("--clip", help="Clip id, e.g. casme2/sub01/EP02_01f.")],
    out: Annotated[Path, typer.Option("--out", help="Output picture (.png).")],
    seed: Annotated[int | None, typer.Option("--seed", help="A seed of the run (default: first).")] = None,
    cache_dir: Annotated[Path, typer.Option("--cache-dir", help="Where built inputs are cached.")] = DEFAULT_CACHE,
) -> None:
    """Per-class attention (FR) or gradient saliency (other torch models) over a clip's flow and apex face.

    Re-trains the run's fold that held the clip out (training is deterministic), so the picture is of the
    model that made the run's prediction, one that never saw the clip.
    """
    from rich.progress import Progress

    from microexp.viz.explain import draw_explanation, explain_run

    with Progress(console=err_console, transient=True) as progress:
        progress.add_task(f"re-training the fold of {clip}", total=None)
        explanation = explain_run(run, clip, seed, cache_dir)
    write_figure(out, draw_explanation(explanation), dpi=120)
    predicted = explanation.classes[int(explanation.proba.argmax())]
    true = explanation.classes[explanation.label]
    console.print(f"{explanation.clip_id}: true {true}, predicted {predicted}; wrote {out}")


@app.command("train")
def train_command(
    dataset: Annotated[str, typer.Option("--dataset", help="Database name (see `microexp datasets`).")],
    data_dir: Annotated[Path, typer.Option("--data-dir", help="Your copy of the database.")],
    model: Annotated[str, typer.Option("--model", help="Registered model name, e.g. fr.")],
    out: Annotated[Path, typer.Option("--out", help="Bundle folder to write.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    label_map: LabelMapOption = None,
    overrides: SetOption = None,
    train_tables: TrainTableOption = None,
    cache_dir: Annotated[Path, typer.Option("--cache-dir", help="Where built inputs are cached.")] = DEFAULT_CACHE,
) -> None:
    """Train a model on every clip of a database and save it as a bundle (weights + JSON, no pickle)."""
    from microexp.evaluation.study import make_run_spec, train_bundle

    spec = make_run_spec(
        dataset=dataset,
        data_dir=data_dir,
        model=model,
        label_map=label_map,
        seeds=[seed],
        overrides=overrides or [],
        extra_tables=_train_tables(train_tables),
    )
    with _progress_bar() as progress:
        path, table = train_bundle(
            spec, out, seed=seed, cache_dir=cache_dir, report=_Reporter(progress, f"training {model}", True)
        )
    console.print(f"trained {model} on {len(table)} clips of {table.name}; wrote bundle {path}")


# --- demo and predict commands ---


def _prediction_table(prediction, truth: str | None = None) -> Table:
    table = Table(title=f"prediction for {prediction.source}", show_header=False)
    table.add_column("what")
    table.add_column("value")
    table.add_row("face box (x0, y0, x1, y1)", ", ".join(f"{v:.0f}" for v in prediction.face_box))
    table.add_row("onset, apex", f"{prediction.onset}, {prediction.apex} ({prediction.apex_method})")
    table.add_row("label", f"[bold]{prediction.label}[/]" + (f" (true: {truth})" if truth else ""))
    for name, p in prediction.probabilities.items():
        table.add_row(f"p({name})", f"{p:.3f}")
    return table


def _demo_report(settings, summary: dict, n_clips: int, prediction, truth: str, seconds: float) -> str:
    """report.md of a demo run: what was generated, the scores, the confusion matrix, the example."""

    def cell(stat: dict) -> str:
        return f"{stat['mean']:.4f} ± {stat['std']:.4f}"

    probabilities = ", ".join(f"{name} {p:.3f}" for name, p in prediction.probabilities.items())
    return "\n".join(
        [
            "# microexp demo: synthetic micro-expressions",
            "",
            f"{n_clips} synthetic clips ({settings.subjects} subjects × 3 classes × {settings.clips_per_class}) "
            f"rendered from one face photograph at {settings.fps} fps, expression amplitude "
            f"{settings.amplitude} px, with head motion, blinks, flicker and sensor noise (seed {settings.seed}).",
            "They are written as a CASME II copy (`database/`) and read by the CASME II adapter; onset→apex "
            "TV-L1 flows are the model's input. The figures show that the whole path works; they say nothing "
            "about accuracy on real micro-expressions.",
            "",
            f"## Leave-one-subject-out, {summary['model']}, seeds {summary['seeds']}",
            "",
            "| UF1 | UAR | accuracy |",
            "|---|---|---|",
            f"| {cell(summary['uf1'])} | {cell(summary['uar'])} | {cell(summary['accuracy'])} |",
            "",
            "Predictions of all folds pooled, then scored (`predictions.csv`, `summary.json`).",
            "",
            "![confusion matrix](confusion.png)",
            "",
            "## A new video",
            "",
            f"`example.mp4`, a subject not in the database: true **{truth}**, predicted **{prediction.label}** "
            f"({probabilities}), onset {prediction.onset}, apex {prediction.apex} ({prediction.apex_method}), "
            f"by the bundle in `bundle/` trained on all {n_clips} clips. `example_overlay.mp4` shows it.",
            "",
            f"Whole demo: {seconds:.0f} s.",
            "",
        ]
    )


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the database, flows, run, bundle, videos.")] = Path(
        "runs/demo"
    ),
    subjects: Annotated[int, typer.Option("--subjects", help="Synthetic subjects, one LOSO fold each.")] = 8,
    clips_per_class: Annotated[int, typer.Option("--clips-per-class", help="Clips per subject and class.")] = 2,
    amplitude: Annotated[
        float | None,
        typer.Option("--amplitude", help="Peak expression motion in pixels (default 1.5); 0 = none: chance level."),
    ] = None,
    face_image: Annotated[
        Path | None, typer.Option("--face-image", help="A frontal face photograph (default: the astronaut).")
    ] = None,
    model: Annotated[str, typer.Option("--model", help="A flow model (see `microexp models`).")] = "linear",
    seeds: Annotated[str, typer.Option("--seeds", help="Comma-separated training seeds.")] = "0",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic database.")] = 0,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Processes for flows and folds.")] = 2,
) -> None:
    """The whole path on synthetic micro-expressions, no data needed: generate a CASME II copy, compute its
    flows, run leave-one-subject-out, train a bundle on everything, predict a new video.

    Writes under --out: database/ (cached between runs), cache/ (built inputs), loso/ (run folder with
    confusion.png and report.md), bundle/, example.mp4 and example_overlay.mp4.
    """
    from microexp.data.synthetic_render import CLASSES, SyntheticSettings, clip_plan, example_clip
    from microexp.data.synthetic_write import write_database
    from microexp.evaluation.runner import Stopwatch
    from microexp.evaluation.study import evaluate as evaluate_study
    from microexp.evaluation.study import make_run_spec, train_bundle
    from microexp.models.registry import get_model_info
    from microexp.preprocess.video import read_frame, write_video
    from microexp.training.bundle import load_bundle
    from microexp.training.predict import read_clip
    from microexp.video.clip import predict_video
    from microexp.viz.confusion import confusion_matrix, plot_confusion
    from microexp.viz.overlay import PLAYBACK_FPS, draw_prediction

    clock = Stopwatch()
    seed_list = _parse_seeds(seeds)
    info = get_model_info(model)
    if set(info.inputs) != {"flow"}:
        raise ConfigError(f"the demo trains on flows; model {model!r} takes {info.describe_inputs()}")
    settings = SyntheticSettings(subjects=subjects, clips_per_class=clips_per_class, seed=seed)
    if amplitude is not None:
        settings = dataclasses.replace(settings, amplitude=amplitude)
    image = None if face_image is None else read_frame(face_image, colour=True)
    database = out / "database"
    # checked before minutes of rendering
    spec = make_run_spec(dataset="synthetic", data_dir=database, model=model, seeds=seed_list)

    with _progress_bar() as progress:
        task = progress.add_task("rendering synthetic clips", total=len(clip_plan(settings)))
        write_database(database, settings, image, lambda done, _: progress.update(task, completed=done))
    # The inputs cache is keyed by the frames' bytes: a re-rendered database never reuses old flows.
    cache = out / "cache"
    run_dir = out / "loso"
    with _progress_bar() as progress:
        summary, _ = evaluate_study(
            spec,
            run_dir,
            workers=workers,
            cache_dir=cache,
            overwrite=True,
            report=_Reporter(progress, f"{model} LOSO", False),
        )
    from microexp.evaluation.report import PREDICTIONS_FILE, read_predictions

    predictions = read_predictions(run_dir / PREDICTIONS_FILE)
    classes = summary["classes"]
    matrix = confusion_matrix(predictions["label"], predictions["prediction"], len(classes))
    title = f"{model}, LOSO over {summary['n_folds']} synthetic subjects"
    write_figure(run_dir / "confusion.png", plot_confusion(matrix, classes, title), dpi=120)
    console.print(
        _scores_table(f"{model} on {summary['n_clips']} synthetic clips: LOSO, {summary['n_folds']} folds", summary)
    )

    with err_console.status(f"training {model} on all {summary['n_clips']} clips"):
        bundle_dir, table = train_bundle(spec, out / "bundle", seed=seed_list[0], cache_dir=cache)

    truth = CLASSES[seed % len(CLASSES)]  # a different class for each database seed
    clip = example_clip(truth, settings, image)
    video = write_video(out / "example.mp4", clip.frames, settings.fps)
    prediction = predict_video(load_bundle(bundle_dir), video, onset=clip.onset, apex=clip.apex, cache_dir=cache)
    frames, numbers = read_clip(video)
    write_video(out / "example_overlay.mp4", draw_prediction(frames, numbers, prediction), PLAYBACK_FPS)
    console.print(_prediction_table(prediction, truth))
    report = _demo_report(settings, summary, len(table), prediction, truth, clock.seconds)
    write_text(run_dir / "report.md", report)
    console.print(f"demo finished in {clock.seconds:.0f} s; report {run_dir / 'report.md'}, bundle {bundle_dir}")


@app.command()
def predict(
    source: Annotated[Path, typer.Argument(help="A video file or a folder of frames (img46.jpg, ...).")],
    model: Annotated[Path, typer.Option("--model", help="Bundle folder (from `microexp train` or the demo).")],
    onset: Annotated[
        int | None, typer.Option("--onset", help="Onset: frame number in a folder, 0-based index in a video.")
    ] = None,
    apex: Annotated[int | None, typer.Option("--apex", help="Apex, numbered like --onset.")] = None,
    spot: Annotated[
        bool,
        typer.Option("--spot", help="Find the apex: the frame that moved most from the onset (default: first face)."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    overlay: Annotated[
        Path | None, typer.Option("--overlay", help="Write the clip with the prediction drawn on it (.mp4).")
    ] = None,
) -> None:
    """Predict the expression of one clip with a trained bundle: face box, onset/apex used, label and class
    probabilities. Give --onset and --apex, or --spot: the onset is then the first frame with a face, and the
    apex the frame of that face's run that moved most from it. The video is streamed and the face tracked."""
    import json

    from microexp.training.bundle import load_bundle
    from microexp.video.clip import predict_video

    if not source.exists():
        raise DataNotFoundError(f"{source} does not exist; give a video file or a folder of frames")
    bundle = load_bundle(model)
    prediction = predict_video(bundle, source, onset=onset, apex=apex, spot=spot)
    if overlay is not None:
        from microexp.preprocess.video import write_video
        from microexp.training.predict import read_clip
        from microexp.viz.overlay import PLAYBACK_FPS, draw_prediction

        frames, numbers = read_clip(source)
        write_video(overlay, draw_prediction(frames, numbers, prediction), PLAYBACK_FPS)
    if as_json:
        console.print_json(json.dumps(prediction.as_dict()))
        return
    console.print(_prediction_table(prediction))
    if overlay is not None:
        console.print(f"wrote {overlay}")


# --- long videos ---


def _analysis_table(analysis) -> Table:
    table = Table(title=f"{analysis.source}: {len(analysis.events)} micro-expression interval(s)")
    for column in ("onset / apex / offset", "seconds", "score", "label", "p"):
        table.add_column(column, justify="left" if column == "label" else "right")
    for event in analysis.events:
        table.add_row(
            f"{event.onset} / {event.apex} / {event.offset}",
            f"{event.onset_time:.3f}–{event.offset_time:.3f}",
            f"{event.score:.3f}",
            event.label or f"[dim]{event.note}[/]",
            f"{event.probabilities[event.label]:.3f}" if event.label else "",
        )
    return table


@app.command()
def analyse(
    video: Annotated[Path, typer.Argument(help="A video file (any length; streamed, never held whole).")],
    model: Annotated[Path, typer.Option("--model", help="Bundle folder (from `microexp train` or the demo).")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for timeline, plot, overlay (default runs/analyse/NAME).")
    ] = None,
    overlay: Annotated[
        bool, typer.Option("--overlay", help="Also write overlay.mp4: the video with the face box and intervals.")
    ] = False,
) -> None:
    """Find and classify every micro-expression of a long video: track the face on every frame, spot candidate
    intervals, classify each with the bundle. Writes timeline.csv, timeline.json and timeline.png under --out."""
    from microexp.training.bundle import load_bundle
    from microexp.video.analyse import analyse_video, write_timeline
    from microexp.viz.timeline import plot_timeline

    if not video.is_file():
        raise DataNotFoundError(f"{video} does not exist or is not a file; give a video file")
    out = out if out is not None else Path("runs") / "analyse" / video.stem
    bundle = load_bundle(model)
    with _progress_bar() as progress:
        task = progress.add_task(f"analysing {video.name}", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=max(total, done) or None)

        analysis = analyse_video(video, bundle, progress=advance)
    csv_path, _ = write_timeline(analysis, out)
    write_figure(out / "timeline.png", plot_timeline(analysis), dpi=120)
    if overlay:
        from microexp.viz.overlay import write_analysis_overlay

        with err_console.status("writing overlay.mp4"):
            write_analysis_overlay(analysis, out / "overlay.mp4")
    console.print(_analysis_table(analysis))
    summary = analysis.summary()
    console.print(
        f"{summary['frames']} frames ({summary['duration_s']:.1f} s), face on {summary['face_frames']}, "
        f"undecodable {len(summary['undecodable_frames'])}; analysed in {analysis.seconds:.1f} s; "
        f"wrote {csv_path}, {out / 'timeline.json'}, {out / 'timeline.png'}"
        + (f", {out / 'overlay.mp4'}" if overlay else "")
    )


@app.command("spot-evaluate")
def spot_evaluate(
    dataset: Annotated[
        str, typer.Option("--dataset", help="A long-video database: casme2long, sammlong or synthetic-long.")
    ],
    data_dir: Annotated[Path, typer.Option("--data-dir", help="Your copy of the database (vendor layout).")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for intervals.csv and scores.json (default runs/spot/NAME).")
    ] = None,
    fps: Annotated[
        float | None, typer.Option("--fps", help="Frame rate of the copy, when not the database's own.")
    ] = None,
    sheet: Annotated[Path | None, typer.Option("--sheet", help="The annotation sheet, if not in --data-dir.")] = None,
    spotter: Annotated[
        list[str] | None,
        typer.Option("--spotter", help="A spotter option NAME=VALUE (repeatable), e.g. min_score=0.2."),
    ] = None,
) -> None:
    """Score micro-expression spotting on annotated long videos with the MEGC protocol: the face tracked and
    the spotter of `analyse` run on every video; a spotted interval is a hit when its IoU with a true one is
    at least 0.5; precision, recall and F1 over all videos."""
    from microexp.data.long_videos import LongVideoAdapter
    from microexp.data.registry import dataset_names, get_dataset
    from microexp.video.spot_evaluation import evaluate_spotting, write_evaluation
    from microexp.video.spotting import parse_options

    options = parse_options(spotter or [])
    adapter_class = get_dataset(dataset)
    if not issubclass(adapter_class, LongVideoAdapter):
        long = sorted(name for name in dataset_names() if issubclass(get_dataset(name), LongVideoAdapter))
        raise ConfigError(f"{dataset} is not a long-video database; spotting is scored on one of {long}")
    if not data_dir.is_dir():
        raise DataNotFoundError(f"{data_dir} does not exist or is not a folder; give your copy of {dataset}")
    videos = adapter_class(data_dir, sheet=sheet, fps=fps).long_videos()
    out = out if out is not None else Path("runs") / "spot" / dataset
    with _progress_bar() as progress:
        task = progress.add_task(f"spotting {len(videos)} video(s)", total=sum(len(v.frames) for v in videos))
        # each video's signals are kept under --out as it is done: a second run resumes where one stopped
        evaluation = evaluate_spotting(
            videos, options, progress=lambda done, total: progress.update(task, completed=done),
            resume_dir=out / "videos",
        )
    write_evaluation(out, evaluation)
    table = Table(title=f"{dataset}: micro-expression spotting (IoU ≥ 0.5)")
    for column in ("video", "frames", "face frames", "true", "spotted", "TP", "FP", "FN", "seconds"):
        table.add_column(column, justify="left" if column == "video" else "right")
    for video, match in zip(evaluation.videos, evaluation.matches, strict=True):
        table.add_row(
            video.video.video_id, str(len(video.video.frames)), str(video.face_frames), str(match.true),
            str(match.spotted), str(match.tp), str(match.fp), str(match.fn), f"{video.seconds:.1f}",
        )
    console.print(table)
    scores = evaluation.scores
    console.print(
        f"all {scores.videos} videos: TP {scores.tp}, FP {scores.fp}, FN {scores.fn}; "
        f"precision {scores.precision:.3f}, recall {scores.recall:.3f}, F1 {scores.f1:.3f}; "
        f"wrote {out / 'intervals.csv'}, {out / 'scores.json'}"
    )
