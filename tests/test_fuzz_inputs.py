"""Fuzzing what users type and write: MEGC logs, the MEGC2019 list (a sample table), experiment files and
option values. The property is always the same: the input is accepted and what comes out is sound, or it is
refused with a :class:`~microexp.errors.MicroexpError` (one line and exit code 2 on the command line); never
another exception, never a wrong result.

Each property runs in two tiers: a smoke run of a few examples in the default suite, and the fuzz tier
(``pytest -m fuzz``, ``make test-fuzz``) with many more.
"""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from microexp import cli
from microexp.data.megc2019 import MEGC2019
from microexp.errors import MicroexpError
from microexp.evaluation.experiment import load_experiment
from microexp.evaluation.metrics import MEGC_CLASSES, read_megc_log, score_megc_log
from microexp.evaluation.study import make_run_spec
from microexp.training.config import TrainConfig

SMOKE = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def in_two_tiers(strategy, check):
    """(smoke test, fuzz test) of ``check`` over ``strategy``."""
    return SMOKE(given(strategy)(check)), pytest.mark.fuzz(FUZZ(given(strategy)(check)))


def command_line(args: list[str]) -> tuple[int, str]:
    """(exit code, stderr) of ``microexp ARGS`` in this process, as a user would run it."""
    err = io.StringIO()
    argv, sys.argv = sys.argv, ["microexp", *args]
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            cli.main()
    except SystemExit as stop:
        return int(stop.code or 0), err.getvalue()
    finally:
        sys.argv = argv
    raise AssertionError("the command line returned without an exit code")


def refused_in_one_line(code: int, err: str) -> bool:
    lines = err.strip().splitlines()
    return code == 2 and len(lines) == 1 and lines[0].startswith("error: ")


def written(data: bytes, name: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="fuzz_"))
    (folder / name).write_bytes(data)
    return folder / name


def encoded(text: str, bom: bool, junk: bytes) -> bytes:
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode() + junk


# --- MEGC logs ---
NUMBERS = st.sampled_from(["0", "1", "2", "-1", "3", "7", "01", "x", "1.0", "99999999999999999999"])
WORDS = st.sampled_from(["casme2", "samm", "smic", "sub01", "006", "EP02_01f", "006_1_2", "\ufeffcasme2", "é"])
LOG_LINES = st.one_of(
    st.tuples(WORDS, WORDS).map(" ".join),
    st.tuples(WORDS, NUMBERS, NUMBERS).map(" ".join),
    st.tuples(WORDS, NUMBERS).map(" ".join),
    st.lists(st.one_of(WORDS, NUMBERS), max_size=5).map(" ".join),
    st.text(max_size=20),
)
LOGS = st.tuples(st.lists(LOG_LINES, max_size=30), st.booleans(), st.sampled_from([b"", b"\xff", b"\r\n"]))


def check_log(case):
    lines, bom, junk = case
    path = written(encoded("\n".join(lines), bom, junk), "log.txt")
    try:
        entries = read_megc_log(path)
        scores = score_megc_log(path)
    except MicroexpError:
        return
    clips = [(e.dataset, e.subject, e.clip) for e in entries]
    assert len(set(clips)) == len(clips), "a repeated clip was counted twice"
    assert all(0 <= e.label < MEGC_CLASSES and 0 <= e.prediction < MEGC_CLASSES for e in entries)
    assert scores["all"].n == len(entries) == sum(len(line.split()) == 3 for line in lines)
    assert set(scores) - {"all"} == {e.dataset for e in entries}


test_megc_log_smoke, test_megc_log_fuzz = in_two_tiers(LOGS, check_log)


def check_score_command(case):
    lines, bom, junk = case
    code, err = command_line(["score", str(written(encoded("\n".join(lines), bom, junk), "log.txt"))])
    assert code == 0 or refused_in_one_line(code, err), err


test_score_command_smoke, test_score_command_fuzz = in_two_tiers(LOGS, check_score_command)


# --- the MEGC2019 list: a sample table in csv ---
HEADER = "dataset,sub,filename_o,label,apex,imagename,sub_filename"
CELLS = st.sampled_from(["casme2", "samm", "SMIC", "sub06", "006", "s06", "EP00_00f", "0", "1", "2", "7", "-1",
                         "", " ", "x", '"a,b"', "é"])  # fmt: skip
ROWS = st.lists(CELLS, min_size=0, max_size=8).map(",".join)
LISTS = st.tuples(st.booleans(), st.lists(ROWS, max_size=12), st.booleans(), st.sampled_from([b"", b"\xe9", b"\n"]))


def check_list(case):
    header, rows, bom, junk = case
    path = written(encoded("\n".join(([HEADER] if header else []) + rows), bom, junk), "combined_3_class2.csv")
    try:
        table = MEGC2019(path.parent, sheet=path.name).load(frames=False)
    except MicroexpError:
        return
    samples = table.samples
    assert samples["label"].between(0, len(table.classes) - 1).all()
    assert samples["clip_id"].is_unique
    assert set(samples["dataset"]) <= {"casme2", "samm", "smic"}


test_megc2019_list_smoke, test_megc2019_list_fuzz = in_two_tiers(LISTS, check_list)


# --- experiment files ---
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "../x", "/tmp/x", "tiny", "ststnet", "linear", "megc2019", "ray", "abc", "[0,"]),
)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(WORDS, inner, max_size=3),
                      max_leaves=6)  # fmt: skip
TOP_KEYS = st.sampled_from(["name", "seeds", "workers", "executor", "out", "inputs", "splitter", "stages", "seed"])
MODEL_ENTRIES = st.dictionaries(
    st.sampled_from(["ststnet", "linear", "nope"]),
    st.fixed_dictionaries(
        {},
        optional={
            "options": st.dictionaries(st.sampled_from(["dropout", "cs", "width"]), VALUES, max_size=2),
            "training": st.dictionaries(
                st.sampled_from(["epochs", "lr", "device", "class_weighting"]), VALUES, max_size=2
            ),  # fmt: skip
        },
    ),
    min_size=1,
    max_size=2,
)
EXPERIMENTS = st.tuples(
    st.dictionaries(TOP_KEYS, VALUES, max_size=4),
    MODEL_ENTRIES,
    st.sampled_from(["", "\n  bad: [", "\n\t- x", ": :"]),
    st.sampled_from([b"", b"\xff"]),
)


def check_experiment(case):
    top, models, tail, junk = case
    document = {"name": "tiny", **top, "datasets": {"megc2019": {"data_dir": "data"}}, "models": models}
    path = written(yaml.safe_dump(document).encode() + tail.encode() + junk, "experiment.yaml")
    try:
        experiment = load_experiment(path)
    except MicroexpError:
        return
    assert "/" not in experiment.name and ".." not in Path(experiment.name).parts
    for _, spec in experiment.runs():
        assert spec.train.epochs >= 1


test_experiment_file_smoke, test_experiment_file_fuzz = in_two_tiers(EXPERIMENTS, check_experiment)


# --- option values ---
KEYS = st.sampled_from(["train.epochs", "train.lr", "train.weight_decay", "train.class_weighting", "train.device",
                        "train.early_stopping_patience", "train.val_fraction", "train.label_smoothing",
                        "model.dropout", "model.nope", "inputs.crop_size", "inputs.norm", "inputs.flow_method",
                        "inputs.flow_params", "splitter", "splitter.n_splits", "train", "x.y"])  # fmt: skip
TYPED = ["abc", "2.5", "-1", "0", "1", "1e-3", "2e-3", ".nan", ".inf", "true", "maybe", "yes", "null", "[1",
         "{a: 1}", "{tau: -1}", "{nscales: 2}", "cuda", "cpu", "cuda:7", "magnitude", "dis", "", "'1'"]  # fmt: skip
TEXTS = st.one_of(
    st.sampled_from(TYPED),
    st.text(max_size=8),
    st.integers(-10, 10**6).map(str),
    st.floats().map(str),
)
OVERRIDES = st.lists(st.tuples(KEYS, st.sampled_from(["=", "", "=="]), TEXTS).map("".join), max_size=4)


def check_overrides(overrides):
    try:
        spec = make_run_spec(dataset="megc2019", data_dir="data", model="ststnet", overrides=overrides)
    except MicroexpError:
        return
    config = spec.train
    assert config.epochs >= 1 and config.lr > 0 and config.weight_decay >= 0
    assert isinstance(config.class_weighting, bool) and 0 <= config.label_smoothing < 1
    assert TrainConfig.from_dict(spec.record()["train_config"]) == config


test_option_values_smoke, test_option_values_fuzz = in_two_tiers(OVERRIDES, check_overrides)


def check_evaluate_options(overrides):
    """Whatever the values, the command stops with one line: at the first bad value, or at the data folder
    that does not exist (validated options come first); no run folder is written either way."""
    out = Path(tempfile.mkdtemp(prefix="fuzz_")) / "run"
    sets = [part for value in overrides for part in ("--set", value)]
    code, err = command_line(["evaluate", "--dataset", "megc2019", "--data-dir", str(out.parent / "absent"),
                              "--model", "ststnet", "--out", str(out), *sets])  # fmt: skip
    assert refused_in_one_line(code, err), err
    assert not out.exists()


test_evaluate_options_smoke, test_evaluate_options_fuzz = in_two_tiers(OVERRIDES, check_evaluate_options)
