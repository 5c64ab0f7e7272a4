"""One small exception hierarchy for everything a user can get wrong.

Each error also subclasses the built-in exception with the same meaning, so callers that catch
``ValueError`` or ``FileNotFoundError`` keep working. Messages say what was received, what was
expected and what to do; the CLI prints them as one line and exits with code 2.
"""


class MicroexpError(Exception):
    """Base class of every error microexp raises on purpose."""


class DataError(MicroexpError, ValueError):
    """Input data (an annotation sheet, a label, a clip) is not what was expected."""


class DataNotFoundError(MicroexpError, FileNotFoundError):
    """A file or folder that should exist does not."""


class UnreadableFileError(DataError):
    """A file exists but cannot be decoded (damaged image, wrong format)."""


class ConfigError(MicroexpError, ValueError):
    """A configuration, an option or a model name is invalid."""


class NoFaceError(DataError):
    """No face was found where one was required."""


class OutputError(MicroexpError, OSError):
    """An output file or folder cannot be written (no permission, a file where a folder should be)."""
