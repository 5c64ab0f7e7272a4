"""Metrics of the MER field, always on predictions pooled over all folds.

UF1 = mean over classes of 2·TP / (2·TP + FP + FN); UAR = mean over classes of TP / N (balanced
accuracy). A class absent from both labels and predictions contributes nothing (it is skipped), which
matches the MEGC2019 evaluation script. Per-part figures are the same formulas restricted to a part.
Also: reading and writing the MEGC submission log (a line ``<dataset> <subject>``, then
``<clip> <gt> <pred>`` per clip).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from microexp.errors import ConfigError, DataError
from microexp.files import write_text
from microexp.textfiles import read_text

# negative, positive, surprise: the MEGC2019 composite's classes and what its logs hold
MEGC_CLASSES = 3


def confusion_matrix(labels: Sequence[int], predictions: Sequence[int], num_classes: int) -> np.ndarray:
    """Rows are true classes, columns predicted classes."""
    labels = np.asarray(labels, dtype=np.int64)
    predictions = np.asarray(predictions, dtype=np.int64)
    if labels.shape != predictions.shape:
        raise DataError(f"labels ({labels.shape}) and predictions ({predictions.shape}) differ in length")
    outside = (labels < 0) | (labels >= num_classes) | (predictions < 0) | (predictions >= num_classes)
    if outside.any():
        # np.add.at would count class -1 as the last class and an index past the end would raise
        index = int(np.argmax(outside))
        raise DataError(
            f"label {labels[index]} / prediction {predictions[index]} is outside the classes 0..{num_classes - 1}"
        )
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    return matrix


def _present(matrix: np.ndarray) -> np.ndarray:
    return (matrix.sum(axis=1) + matrix.sum(axis=0)) > 0


def uf1(matrix: np.ndarray) -> float:
    tp = np.diag(matrix).astype(float)
    fp = matrix.sum(axis=0) - tp
    fn = matrix.sum(axis=1) - tp
    present = _present(matrix)
    return float(np.mean(2 * tp[present] / (2 * tp[present] + fp[present] + fn[present])))


def uar(matrix: np.ndarray) -> float:
    support = matrix.sum(axis=1)
    has_samples = support > 0
    return float(np.mean(np.diag(matrix)[has_samples] / support[has_samples]))


def accuracy(matrix: np.ndarray) -> float:
    return float(np.trace(matrix) / matrix.sum())


def weighted_f1(matrix: np.ndarray) -> float:
    tp = np.diag(matrix).astype(float)
    fp = matrix.sum(axis=0) - tp
    fn = matrix.sum(axis=1) - tp
    support = matrix.sum(axis=1)
    denominator = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    return float(np.sum(f1 * support) / support.sum())


@dataclass(frozen=True)
class Scores:
    uf1: float
    uar: float
    accuracy: float
    weighted_f1: float
    n: int
    confusion: np.ndarray

    def as_dict(self) -> dict:
        return {
            "uf1": self.uf1,
            "uar": self.uar,
            "accuracy": self.accuracy,
            "weighted_f1": self.weighted_f1,
            "n": self.n,
            "confusion": self.confusion.tolist(),
        }


def score(labels: Sequence[int], predictions: Sequence[int], num_classes: int) -> Scores:
    if len(labels) == 0:
        raise DataError("cannot score an empty set of predictions")
    matrix = confusion_matrix(labels, predictions, num_classes)
    return Scores(uf1(matrix), uar(matrix), accuracy(matrix), weighted_f1(matrix), int(matrix.sum()), matrix)


def score_by_part(
    labels: Sequence[int], predictions: Sequence[int], parts: Sequence[str], num_classes: int
) -> dict[str, Scores]:
    """``{"all": ..., part: ...}`` with every part scored on its own pooled predictions."""
    labels = np.asarray(labels)
    predictions = np.asarray(predictions)
    parts = np.asarray(parts)
    result = {"all": score(labels, predictions, num_classes)}
    for part in sorted(set(parts.tolist())):
        mask = parts == part
        result[part] = score(labels[mask], predictions[mask], num_classes)
    return result


@dataclass(frozen=True)
class LogEntry:
    dataset: str
    subject: str
    clip: str
    label: int
    prediction: int


def read_megc_log(path: str | Path, num_classes: int = MEGC_CLASSES) -> list[LogEntry]:
    """Parse a MEGC submission log; every malformed line is reported with its line number.

    A two-field line is a ``<dataset> <subject>`` header only when it names a database microexp knows (the
    first part of a clip id); otherwise it is a clip line missing a field, not a new part. Classes are
    ``0 .. num_classes - 1``: a label of -1 or 7 in a 3-class log is an error, not a class of its own. A clip
    listed twice would be counted twice, so it is an error too."""
    from microexp.data.registry import DATASETS

    if type(num_classes) is not int or num_classes < 2:
        raise ConfigError(f"a log's class count must be an integer of at least 2, got {num_classes!r}")
    path = Path(path)
    entries: list[LogEntry] = []
    seen: dict[tuple[str, str, str], int] = {}
    dataset = subject = None
    for number, raw in enumerate(read_text(path, "MEGC log").splitlines(), start=1):
        fields = raw.split()
        where = f"{path}:{number}"
        if not fields:
            continue
        if len(fields) == 2 and fields[0] in DATASETS:
            dataset, subject = fields
        elif len(fields) == 3:
            if dataset is None:
                raise DataError(f"{where}: clip line {raw.strip()!r} comes before any '<dataset> <subject>' line")
            try:
                label, prediction = int(fields[1]), int(fields[2])
            except ValueError:
                raise DataError(
                    f"{where}: expected '<clip> <gt> <pred>' with integer classes, got {raw.strip()!r}"
                ) from None
            if not (0 <= label < num_classes and 0 <= prediction < num_classes):
                raise DataError(
                    f"{where}: class out of range in {raw.strip()!r}; a {num_classes}-class log holds classes "
                    f"0..{num_classes - 1} (give --classes N for another count)"
                )
            key = (dataset, subject, fields[0])
            if key in seen:
                raise DataError(
                    f"{where}: clip {'/'.join(key)} is listed again (first on line {seen[key]}); "
                    "each clip is scored once, remove the repeat"
                )
            seen[key] = number
            entries.append(LogEntry(dataset, subject, fields[0], label, prediction))
        elif len(fields) == 2:
            raise DataError(
                f"{where}: {raw.strip()!r} is neither '<clip> <gt> <pred>' nor a '<dataset> <subject>' header "
                f"(the dataset must be one of {sorted(DATASETS)})"
            )
        else:
            raise DataError(f"{where}: expected '<dataset> <subject>' or '<clip> <gt> <pred>', got {raw.strip()!r}")
    if not entries:
        raise DataError(f"MEGC log {path} holds no predictions")
    return entries


def write_megc_log(path: str | Path, entries: Sequence[LogEntry]) -> None:
    """Write entries grouped by (dataset, subject) in the order first seen."""
    groups: dict[tuple[str, str], list[LogEntry]] = {}
    for entry in entries:
        groups.setdefault((entry.dataset, entry.subject), []).append(entry)
    lines = []
    for (dataset, subject), group in groups.items():
        lines.append(f"{dataset} {subject}")
        lines.extend(f"{e.clip} {e.label} {e.prediction}" for e in group)
    write_text(path, "\n".join(lines) + "\n")


def score_megc_log(path: str | Path, num_classes: int = MEGC_CLASSES) -> dict[str, Scores]:
    """Scores of a log whose classes are ``0 .. num_classes - 1``, declared rather than read off the log: a
    log with one stray 7 must not become an 8-class problem."""
    entries = read_megc_log(path, num_classes)
    return score_by_part(
        [e.label for e in entries], [e.prediction for e in entries], [e.dataset for e in entries], num_classes
    )
