"""Bad input through the command line, as a new user would give it: every case ends in one line on stderr
that names the value or the file, exit code 2 (``check``: 1 for problems it found), no traceback and no run
folder written. The commands run in-process through the same entry point as ``microexp`` (``cli.main``).

Cases per command (``CASES`` below; ``test_every_command_is_covered`` keeps the tally honest):

    evaluate  option values (--set train./model./inputs./splitter., --seeds, --workers, --executor,
              --train-table), missing or unknown data, model and database; a list csv that is not UTF-8,
              has a short row or a label outside the classes
    train     option values checked as evaluate's, before anything is written
    run       experiment files: YAML syntax, non-UTF-8 bytes, a name that leaves its folder, unknown keys
              and values, --set values that are not YAML
    score     MEGC logs: labels -1 and 7 in a 3-class log, a clip line missing a field, a repeated clip,
              non-UTF-8 bytes, a clip before any header, missing file, a folder, no predictions, --classes 1
    check     a missing file (exit 1), a list that is not UTF-8, unknown database, missing folder
    flow, preprocess, dynamic-image, predict, analyse, spot-evaluate, demo, explain   option values and
              missing paths
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import write_tiny_megc2019
from microexp import cli
from microexp.errors import MicroexpError

LIST = "combined_3_class2_for_optical_flow.csv"


def run_main(args: list[str], capsys, monkeypatch) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``microexp ARGS`` run in this process."""
    monkeypatch.setattr(sys, "argv", ["microexp", *args])
    with pytest.raises(SystemExit) as stop:
        cli.main()
    out, err = capsys.readouterr()
    return int(stop.value.code or 0), out, err


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A tiny MEGC2019 copy, and the bad files derived from it."""
    root = tmp_path_factory.mktemp("bad_input")
    megc = write_tiny_megc2019(root / "megc2019")
    text = (megc / LIST).read_text()
    lines = text.splitlines()

    def variant(name: str, content: bytes) -> str:
        copy = root / name
        copy.mkdir()
        (copy / LIST).write_bytes(content)
        (copy / "flow_uvos_28").symlink_to(megc / "flow_uvos_28")
        return str(copy)

    missing = root / "missing_flow"
    missing.mkdir()
    (missing / LIST).write_text(text)
    (missing / "flow_uvos_28").mkdir()
    for png in sorted((megc / "flow_uvos_28").iterdir())[1:]:
        (missing / "flow_uvos_28" / png.name).symlink_to(png)

    log = "casme2 sub01\nEP02_01f 1 1\nEP19_05f 0 0\nsamm 006\n006_1_2 0 2\n"
    logs = {
        "negative": log.replace("EP02_01f 1 1", "EP02_01f -1 1"),
        "seven": log.replace("EP02_01f 1 1", "EP02_01f 7 1"),
        "two_fields": log.replace("EP19_05f 0 0", "EP19_05f 0"),
        "repeated": log + "samm 006\n006_1_2 0 2\n",
        "latin1": log.replace("EP19_05f", "EP19_05f\xe9").encode("latin-1"),
        "before_header": "EP02_01f 1 1\n" + log,
        "four_fields": log.replace("EP02_01f 1 1", "EP02_01f 1 1 1"),
        "empty": "\n\n",
        "text_label": log.replace("EP02_01f 1 1", "EP02_01f one 1"),
        "good": log,
    }
    for name, content in logs.items():
        path = root / f"{name}.txt"
        path.write_bytes(content if isinstance(content, bytes) else content.encode())

    experiment = (
        f"name: tiny\nseeds: [0]\nworkers: 1\ndatasets:\n  megc2019: {{data_dir: {megc}}}\nmodels:\n  ststnet: {{}}\n"
    )
    experiments = {
        "syntax": experiment.replace("seeds: [0]", "seeds: [0"),
        "latin1": (experiment.replace("name: tiny", "name: tiny # caf\xe9")).encode("latin-1"),
        "up": experiment.replace("name: tiny", "name: ../escaped"),
        "absolute": experiment.replace("name: tiny", f"name: {root}/escaped"),
        "unknown_key": experiment + "seed: 1\n",
        "a_list": "- name: tiny\n",
        "epochs": experiment.replace("ststnet: {}", "ststnet: {training: {epochs: abc}}"),
        "dropout": experiment.replace("ststnet: {}", "ststnet: {options: {dropout: 5}}"),
        "workers": experiment.replace("workers: 1", "workers: 0"),
        "executor": experiment + "executor: slurm\n",
        "repeated_seeds": experiment.replace("seeds: [0]", "seeds: [0, 0]"),
        "unknown_model": experiment.replace("ststnet: {}", "ststnet2: {}"),
        "out_list": experiment + "out: []\n",
        "inputs_list": experiment + "inputs: [crop_size]\n",
        "splitter_list": experiment + "splitter: [loso]\n",
        "options_list": experiment.replace("ststnet: {}", "ststnet: {options: [dropout]}"),
        "good": experiment,
    }
    for name, content in experiments.items():
        path = root / f"{name}.yaml"
        path.write_bytes(content if isinstance(content, bytes) else content.encode())

    sheets = {}
    for name, damage in {"truncated_sheet": lambda b: b[: len(b) // 2], "garbage_sheet": lambda b: b"garbage"}.items():
        folder = root / name
        folder.mkdir()
        pd.DataFrame({"Subject": [1]}).to_excel(folder / "CASME2-coding-20140508.xlsx", index=False)
        sheet = folder / "CASME2-coding-20140508.xlsx"
        sheet.write_bytes(damage(sheet.read_bytes()))
        sheets[name] = str(folder)
    fer = root / "fer2013"
    fer.mkdir()
    (fer / "fer2013.csv").write_bytes("emotion,pixels,Usage\n3,0 0,Training caf\xe9\n".encode("latin-1"))

    return {
        **sheets,
        "fer2013": str(fer),
        "root": str(root),
        "megc": str(megc),
        "missing_flow": str(missing),
        "latin1_list": variant("latin1_list", text.replace("casme2,", "casme2\xe9,", 1).encode("latin-1")),
        "short_row": variant("short_row", "\n".join([*lines[:3], "casme2,sub06", *lines[3:]]).encode()),
        "smic_clip": variant("smic_clip", "\n".join([*lines, "smic,s06,clip7,0,,,"]).encode()),
        "label_7": variant("label_7", "\n".join([*lines[:2], lines[2].replace(",0,", ",7,"), *lines[3:]]).encode()),
    }


def evaluate(*more: str) -> list[str]:
    return ["evaluate", "--dataset", "megc2019", "--data-dir", "{megc}", "--model", "ststnet", "--seeds", "0",
            "--workers", "1", "--out", "{out}/run", "--cache-dir", "{root}/cache", *more]  # fmt: skip


def train(*more: str) -> list[str]:
    return ["train", "--dataset", "megc2019", "--data-dir", "{megc}", "--model", "ststnet", "--out",
            "{out}/run", "--cache-dir", "{root}/cache", *more]  # fmt: skip


# (command line with {placeholders}, text the one-line error must hold)
CASES = {
    "evaluate": [
        (evaluate("--set", "train.epochs=abc"), "epochs='abc': expected int"),
        (evaluate("--set", "train.epochs=2.5"), "epochs=2.5: expected int"),
        (evaluate("--set", "train.weight_decay=-1"), "weight_decay=-1: expected at least 0"),
        (evaluate("--set", "train.lr=.nan"), "lr=nan: expected a finite float"),
        (evaluate("--set", "train.class_weighting=maybe"), "class_weighting='maybe': expected true/false"),
        (evaluate("--set", "train.device=cuda:99"), "device='cuda:99': this machine has"),
        (evaluate("--set", "train.device=gpu"), "device='gpu': expected auto, cpu, cuda"),
        (evaluate("--set", "train.label_smoothing=1"), "label_smoothing=1: expected in [0, 1)"),
        (evaluate("--set", "train.epoch=3"), "unknown training option(s) ['epoch']"),
        (evaluate("--set", "model.dropout=5"), "dropout=5 must be below 1"),
        (evaluate("--set", "model.dropout=abc"), "dropout='abc' is not a finite number"),
        (evaluate("--set", "model.dropuot=0.1"), "has no option(s) ['dropuot']"),
        (evaluate("--set", "inputs.crop_size=abc"), "crop_size must be an integer"),
        (evaluate("--set", "inputs.norm=loud"), "norm='loud' is unknown"),
        (evaluate("--set", "inputs.flow_params={{foo: 1}}"), "tvl1 has no parameter(s) ['foo']"),
        (evaluate("--set", "inputs.flow_params={{tau: x}}"), "flow_params.tau='x': expected a non-negative"),
        (evaluate("--set", "splitter.n_splits=5"), "unknown option(s) ['n_splits']"),
        (evaluate("--set", "splitter=nope"), "nope"),
        (evaluate("--set", "splitter=subject-kfold", "--set", "splitter.n_splits=100"), "needs at least 100 subjects"),
        (evaluate("--set", "splitter=="), "cannot read the value '='"),
        (evaluate("--set", "splitter=[1]"), "expects a splitter name"),
        (evaluate("--set", "train.epochs"), "--set expects section.key=value"),
        (evaluate("--set", "train.batch_size=[1"), "cannot read the value '[1'"),
        (evaluate("--seeds", "0,0"), "no repeats"),
        (evaluate("--seeds", "a"), "--seeds expects integers"),
        (evaluate("--seeds", "-1"), "seeds: expected distinct non-negative integers"),
        (evaluate("--set", "splitter=subject-kfold", "--set", "splitter.seed=-1"), "seed of at least 0, got -1"),
        (evaluate("--executor", "slurm"), "slurm"),
        (evaluate("--train-table", "ckplus"), "--train-table expects DATASET:DIR"),
        (
            [
                "evaluate",
                "--dataset",
                "megc2019",
                "--data-dir",
                "{root}/nowhere",
                "--model",
                "ststnet",
                "--out",
                "{out}/run",
            ],
            "nowhere",
        ),  # fmt: skip
        (
            ["evaluate", "--dataset", "megc2019", "--data-dir", "{megc}", "--model", "nope", "--out", "{out}/run"],
            "unknown model 'nope'",
        ),  # fmt: skip
        (
            ["evaluate", "--dataset", "nope", "--data-dir", "{megc}", "--model", "ststnet", "--out", "{out}/run"],
            "nope",
        ),  # fmt: skip
        ([*evaluate()[:4], "{latin1_list}", *evaluate()[5:]], f"latin1_list/{LIST}:2: byte 0xe9 is not UTF-8"),
        ([*evaluate()[:4], "{short_row}", *evaluate()[5:]], f"short_row/{LIST}:4: the row 'casme2,sub06' has 2"),
        ([*evaluate()[:4], "{label_7}", *evaluate()[5:]], "unknown label '7'"),
        ([*evaluate()[:4], "{smic_clip}", *evaluate()[5:]], "SMIC clip 'clip7' is not named like s1_ne_01"),
    ],
    "train": [
        (train("--set", "train.epochs=abc"), "epochs='abc': expected int"),
        (train("--set", "train.weight_decay=-1"), "weight_decay=-1: expected at least 0"),
        (train("--set", "model.dropout=5"), "dropout=5 must be below 1"),
        (train("--set", "train.device=cuda:99"), "device='cuda:99'"),
        (train("--seed", "-1"), "seeds: expected distinct non-negative integers"),
    ],
    "run": [
        (["run", "{root}/syntax.yaml"], "syntax.yaml:3:"),
        (["run", "{root}/latin1.yaml"], "latin1.yaml:1: byte 0xe9 is not UTF-8"),
        (["run", "{root}/up.yaml"], "name: '../escaped' is not a plain folder name"),
        (["run", "{root}/absolute.yaml"], "is not a plain folder name"),
        (["run", "{root}/unknown_key.yaml"], "unknown key(s) ['seed']"),
        (["run", "{root}/a_list.yaml"], "expected a YAML mapping"),
        (["run", "{root}/epochs.yaml"], "epochs='abc': expected int"),
        (["run", "{root}/dropout.yaml"], "dropout=5 must be below 1"),
        (["run", "{root}/workers.yaml"], "workers: expected a positive integer"),
        (["run", "{root}/executor.yaml"], "executor: 'slurm' is unknown"),
        (["run", "{root}/repeated_seeds.yaml"], "seeds: expected a list of distinct integers"),
        (["run", "{root}/unknown_model.yaml"], "unknown model 'ststnet2'"),
        (["run", "{root}/out_list.yaml"], "out: expected a folder path"),
        (["run", "{root}/inputs_list.yaml"], "inputs: expected a mapping"),
        (["run", "{root}/splitter_list.yaml"], "splitter: expected text"),
        (["run", "{root}/options_list.yaml"], "models.ststnet.options: expected a mapping"),
        (["run", "{root}/nowhere.yaml"], "experiment file"),
        (["run", "{root}/good.yaml", "--set", "seeds=[0,"], "cannot read the value '[0,'"),
        (["run", "{root}/good.yaml", "--set", "name=../x"], "is not a plain folder name"),
        (["run", "{root}/good.yaml", "--set", "train.epochs=2.5"], "epochs=2.5: expected int"),
    ],
    "score": [
        (["score", "{root}/negative.txt"], "negative.txt:2: class out of range in 'EP02_01f -1 1'"),
        (["score", "{root}/seven.txt"], "seven.txt:2: class out of range in 'EP02_01f 7 1'"),
        (["score", "{root}/two_fields.txt"], "two_fields.txt:3: 'EP19_05f 0' is neither"),
        (["score", "{root}/repeated.txt"], "repeated.txt:7: clip samm/006/006_1_2 is listed again (first on line 5)"),
        (["score", "{root}/latin1.txt"], "latin1.txt:3: byte 0xe9 is not UTF-8"),
        (["score", "{root}/before_header.txt"], "before_header.txt:1: clip line"),
        (["score", "{root}/four_fields.txt"], "four_fields.txt:2: expected"),
        (["score", "{root}/empty.txt"], "holds no predictions"),
        (["score", "{root}/text_label.txt"], "text_label.txt:2: expected '<clip> <gt> <pred>' with integer"),
        (["score", "{root}/nowhere.txt"], "nowhere.txt does not exist"),
        (["score", "{root}"], "(it is a folder)"),
        (["score", "{root}/good.txt", "--classes", "1"], "class count must be an integer of at least 2"),
    ],
    "check": [
        (["check", "--dataset", "megc2019", "--data-dir", "{latin1_list}"], "byte 0xe9 is not UTF-8"),
        (["check", "--dataset", "nope", "--data-dir", "{megc}"], "nope"),
        (["check", "--dataset", "casme2", "--data-dir", "{truncated_sheet}"], "cannot be read (BadZipFile"),
        (["check", "--dataset", "casme2", "--data-dir", "{garbage_sheet}"], "cannot be read (ValueError"),
        (["check", "--dataset", "fer2013", "--data-dir", "{fer2013}"], "fer2013.csv:2: byte 0xe9 is not UTF-8"),
        (["check", "--dataset", "megc2019", "--data-dir", "{root}/nowhere"], "nowhere does not exist"),
        (["check", "--dataset", "megc2019"], "give --data-dir"),
    ],
    "flow": [
        (["flow", "{root}/a.png", "{root}/b.png", "--out", "{out}/f.png", "--method", "magic"], "magic"),
        (["flow", "{root}/a.png", "{root}/b.png", "--out", "{out}/f.png", "--backend", "eyes"], "eyes"),
        (["flow", "{root}/a.png", "{root}/b.png", "--out", "{out}/f.png"], "a.png does not exist"),
        (["flow", "{root}/a.png", "{root}/b.png", "--out", "{out}/f.png", "--size", "0"], "size=0: expected an"),
        (["flow", "{root}/a.png", "{root}/b.png", "--out", "{out}/f.png", "--crop-size", "-3"], "crop_size=-3"),
        # checked before any frame is read or flow computed
        (["flow", "{root}/a.png", "{root}/b.png", "--out", "{out}/f.png", "--norm", "loud"], "'loud' is unknown"),
    ],
    "preprocess": [
        (["preprocess", "--out", "{out}/pre"], "give --frames and --onset"),
        (["preprocess", "--out", "{out}/pre", "--dataset", "megc2019"], "--dataset needs --data-dir"),
        (["preprocess", "--out", "{out}/pre", "--frames", "{root}", "--onset", "1", "--method", "magic"], "magic"),
        (["preprocess", "--out", "{out}/pre", "--frames", "{root}", "--onset", "1", "--norm", "loud"], "'loud' is"),
    ],
    "dynamic-image": [
        (["dynamic-image", "{root}/nowhere", "--out", "{out}/d.png"], "nowhere does not exist"),
        (["dynamic-image", "{root}", "--out", "{out}/d.png", "--size", "4"], "--size must be at least 8"),
    ],
    "predict": [
        (["predict", "{root}/nowhere.mp4", "--model", "{root}"], "nowhere.mp4 does not exist"),
    ],
    "analyse": [
        (["analyse", "{root}/nowhere.mp4", "--model", "{root}"], "nowhere.mp4 does not exist"),
        (["analyse", "{root}", "--model", "{root}"], "is not a file; give a video file"),
    ],
    "spot-evaluate": [
        (["spot-evaluate", "--dataset", "megc2019", "--data-dir", "{root}"], "megc2019 is not a long-video database"),
    ],
    "demo": [
        (["demo", "--out", "{out}/demo", "--seeds", "x"], "--seeds expects integers"),
        (["demo", "--out", "{out}/demo", "--seed", "-1"], "seed must be at least 0, got -1"),
        (["demo", "--out", "{out}/demo", "--seeds", "-1"], "seeds: expected distinct non-negative integers"),
        (["demo", "--out", "{out}/demo", "--model", "deep_emotion"], "the demo trains on flows"),
    ],
    "explain": [
        (
            ["explain", "--run", "{root}/nowhere", "--clip", "casme2/sub01/EP02_01f", "--out", "{out}/e.png"],
            "nowhere",
        ),  # fmt: skip
    ],
}
FLAT = [(command, args, expected) for command, cases in CASES.items() for args, expected in cases]


def test_every_command_is_covered():
    commands = {info.name or info.callback.__name__ for info in cli.app.registered_commands}
    listing_only = {"models", "datasets"}  # they take no input
    assert commands - listing_only == set(CASES)
    assert all(CASES.values())


@pytest.mark.parametrize(("command", "args", "expected"), FLAT, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(FLAT)])
def test_bad_input_is_one_line_and_exit_code_2(command, args, expected, data, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an experiment's runs/<name> would go here
    argv = [arg.format(**data, out=tmp_path) for arg in args]
    code, _, err = run_main(argv, capsys, monkeypatch)
    assert "Traceback" not in err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert expected in lines[0]
    # refused before anything is written (a run folder, runs/<name>/ of an experiment, a picture): the corrected
    # command needs no --overwrite
    assert not list(tmp_path.iterdir()) and not (Path(data["root"]) / "escaped").exists()


def test_check_exits_1_on_a_database_with_a_missing_file(data, capsys, monkeypatch):
    code, out, err = run_main(
        ["check", "--dataset", "megc2019", "--data-dir", data["missing_flow"]], capsys, monkeypatch
    )
    assert code == 1, err
    assert "1 problem(s)" in out and "does not exist" in out
    clean, out, _ = run_main(["check", "--dataset", "megc2019", "--data-dir", data["megc"]], capsys, monkeypatch)
    assert clean == 0 and "no problems found" in out


def test_a_list_with_a_byte_order_mark_reads_as_without_one(data, tmp_path, capsys, monkeypatch):
    """Excel's "CSV UTF-8" starts with a byte-order mark; it is not part of the first column's name."""
    root = write_tiny_megc2019(tmp_path / "bom")
    (root / LIST).write_bytes(b"\xef\xbb\xbf" + (root / LIST).read_bytes())
    code, out, err = run_main(["check", "--dataset", "megc2019", "--data-dir", str(root)], capsys, monkeypatch)
    assert code == 0 and "no problems found" in out, err


def test_a_log_with_a_byte_order_mark_scores_as_without_one(data, tmp_path, capsys, monkeypatch):
    good = f"{data['root']}/good.txt"
    with_mark = tmp_path / "bom.txt"
    with_mark.write_bytes(b"\xef\xbb\xbf" + open(good, "rb").read())
    _, plain, _ = run_main(["score", good, "--json"], capsys, monkeypatch)
    code, marked, err = run_main(["score", str(with_mark), "--json"], capsys, monkeypatch)
    assert code == 0 and marked == plain and "casme2" in marked, err


def test_usage_errors_are_click_messages_not_tracebacks(data, tmp_path, capsys, monkeypatch):
    refused = (
        ["score", "--bogus"],
        ["evaluate", "--workers", "abc"],
        ["no-such-command"],
        [*evaluate("--workers", "0")],
        ["demo", "--out", "{out}/demo", "--workers", "0"],
        ["preprocess", "--out", "{out}/pre", "--dataset", "megc2019", "--data-dir", "{megc}", "--workers", "-1"],
        ["run", "{root}/good.yaml", "--workers", "0"],
    )
    monkeypatch.chdir(tmp_path)
    for args in refused:
        code, _, err = run_main([arg.format(**data, out=tmp_path) for arg in args], capsys, monkeypatch)
        assert code == 2 and "Traceback" not in err and "Error" in err
    assert not list(tmp_path.iterdir())


def test_running_out_of_memory_is_not_a_damaged_video(tmp_path, monkeypatch):
    """PyAV's out-of-memory error is also an FFmpegError; it must not read as "cannot be decoded"."""
    import av

    from microexp.preprocess.video import read_video

    video = tmp_path / "clip.mp4"
    video.write_bytes(b"not read")

    def no_memory(*args, **kwargs):
        raise av.error.MemoryError(12, "Cannot allocate memory")

    monkeypatch.setattr(av, "open", no_memory)
    with pytest.raises(MemoryError) as raised:
        read_video(video)
    assert not isinstance(raised.value, MicroexpError)


def test_running_out_of_memory_is_one_line(data, capsys, monkeypatch):
    from microexp.evaluation import metrics

    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(metrics, "score_megc_log", no_memory)
    code, _, err = run_main(["score", f"{data['root']}/good.txt"], capsys, monkeypatch)
    assert code == 2 and err.strip().splitlines() == [err.strip()] and "error: out of memory;" in err


def test_the_corrected_command_runs_without_overwrite(data, tmp_path, capsys, monkeypatch):
    """The issue's case: a refused --set left config.json behind, and the corrected rerun was refused as
    'a different config' until --overwrite."""
    command = [arg.format(**data, out=tmp_path) for arg in evaluate()]
    refused, _, err = run_main([*command, "--set", "train.weight_decay=-1"], capsys, monkeypatch)
    assert refused == 2 and "weight_decay=-1" in err
    code, out, err = run_main([*command, "--set", "train.epochs=1"], capsys, monkeypatch)
    assert code == 0, err
    assert "UF1" in out and (tmp_path / "run" / "summary.json").is_file()
