"""The ``microexp`` command line. The only module that imports every stage.

Errors raised on purpose (:class:`~microexp.errors.MicroexpError`) become one clear line on stderr and
exit code 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from microexp.errors import ConfigError, DataNotFoundError, MicroexpError

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
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def main() -> None:
    try:
        app(standalone_mode=False)
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
    except Exception as error:  # click usage errors come through here in non-standalone mode
        import click

        if isinstance(error, click.ClickException):
            error.show()
            sys.exit(error.exit_code)
        raise


_ = Path  # Path is used by the commands below; keeps the import stable as commands are added.


# --- dataset commands ---
@app.command("datasets")
def datasets_command() -> None:
    """List the supported databases, their protocols and the layout each expects."""
    from rich.table import Table

    from microexp.data.registry import DATASETS

    table = Table(title="Supported databases")
    for column in ("name", "protocols", "description", "expected layout"):
        table.add_column(column, overflow="fold")
    for name, adapter in DATASETS.items():
        default = adapter.default_protocol
        protocols = ", ".join(p + (" (default)" if p == default else "") for p in adapter.protocols)
        table.add_row(name, protocols, adapter.description, adapter.layout)
    console.print(table)


@app.command("check")
def check_command(
    dataset: Annotated[str, typer.Option("--dataset", help="Database name (see `microexp datasets`).")],
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Your copy (vendor layout).")] = None,
    protocol: Annotated[str | None, typer.Option("--protocol", help="Default: the database's.")] = None,
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
    report = open_dataset(dataset, data_dir, sheet=sheet or None).check(protocol, all_frames=all_frames)
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
