"""Reading the text files a user hands microexp (MEGC logs, csv lists and sheets, experiment files, label
files): UTF-8 decoded strictly, a byte-order mark dropped, and every failure one error that names the file
and the line, never a UnicodeDecodeError or a YAML traceback.

Spreadsheet programs on Windows save csv files with a byte-order mark (read as part of the first column
name otherwise) or in a legacy code page (whose accented letters are not UTF-8).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from microexp.errors import ConfigError, DataNotFoundError, UnreadableFileError


def read_text(path: str | Path, what: str) -> str:
    """The text of ``path``, a ``what`` ("MEGC log", "experiment file"), decoded as UTF-8."""
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"{what} {path} does not exist" + (" (it is a folder)" if path.is_dir() else ""))
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UnreadableFileError(f"{what} {path} cannot be read ({error.strerror}); check its permissions") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise UnreadableFileError(
            f"{what} {path}:{line}: byte 0x{data[error.start]:02x} is not UTF-8 text; save the file as UTF-8"
        ) from None


def read_yaml(path: str | Path, what: str) -> Any:
    """The YAML document in ``path``; a syntax error names the line and column where the parser stopped."""
    import yaml

    text = read_text(path, what)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise ConfigError(f"{what} {where}: {problem}; fix the YAML there (indentation, quotes, brackets)") from None
