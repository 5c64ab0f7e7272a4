import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO_ROOT, subprocess_env
from microexp.errors import ConfigError
from microexp.evaluation.comparison import comparison_frame, write_comparison
from microexp.evaluation.experiment import apply_overrides, experiment_from_dict, load_experiment
from microexp.models import get_model_info

MINIMAL = {"name": "tiny", "datasets": {"megc2019": {"data_dir": "data"}}, "models": {"linear": {}}}


def test_the_shipped_composite_experiment_parses():
    study = load_experiment(REPO_ROOT / "experiments" / "composite.yaml")
    assert [m.name for m in study.models] == ["ststnet", "linear", "offapexnet"]
    assert study.seeds == (0, 1, 2) and study.datasets[0].data_dir == Path("../shared/data/megc2019")
    assert study.models[0].train_config().epochs == get_model_info("ststnet").training["epochs"]  # its own default
    assert study.run_dir(study.datasets[0], study.models[1]) == Path("runs/composite/megc2019/linear")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({**MINIMAL, "seed": [0]}, r"experiment: unknown key\(s\) \['seed'\]; valid keys: \['name', 'datasets'"),
        (
            {**MINIMAL, "models": {"linear": {"epochs": 3}}},
            r"models.linear: unknown key\(s\) \['epochs'\]; valid keys: \['options', 'training'\]",
        ),
        ({**MINIMAL, "datasets": {"megc2019": {}}}, r"datasets.megc2019: missing key\(s\) \['data_dir'\]"),
        ({**MINIMAL, "models": {"linear": {"training": {"epoch": 3}}}}, r"unknown training option\(s\) \['epoch'\]"),
        ({**MINIMAL, "models": {"resnet": {}}}, "unknown model 'resnet'"),
        ({**MINIMAL, "executor": "dask"}, r"executor: 'dask' is unknown; expected one of \('local', 'ray'\)"),
        ({**MINIMAL, "seeds": [0, 0]}, "seeds: expected a list of distinct integers"),
    ],
)
def test_a_bad_experiment_raises_naming_what_is_valid(values, message):
    with pytest.raises(ConfigError, match=message):
        experiment_from_dict(values)


def test_dotted_overrides_set_nested_keys_as_yaml_values():
    values = apply_overrides(
        MINIMAL, ["seeds=[0,1]", "models.linear.training.epochs=10", "models.ststnet.options={}", "executor=ray"]
    )
    study = experiment_from_dict(values)
    assert study.seeds == (0, 1) and study.executor == "ray"
    assert [m.name for m in study.models] == ["linear", "ststnet"] and study.models[0].training == {"epochs": 10}
    assert MINIMAL["models"] == {"linear": {}}  # the parsed file is not modified
    with pytest.raises(ConfigError, match="name is 'tiny', not a mapping"):
        apply_overrides(MINIMAL, ["name.first=x"])
    with pytest.raises(ConfigError, match="--set expects dotted.key=value"):
        apply_overrides(MINIMAL, ["seeds"])


def _summary(model, dataset, uf1):
    return {"model": model, "dataset": dataset, "seeds": [0, 1], "uf1": {"mean": uf1, "std": 0.01},
            "uar": {"mean": uf1 - 0.01, "std": 0.02}}  # fmt: skip


def test_comparison_puts_published_figures_beside_ours_on_the_composite_only(tmp_path):
    frame = comparison_frame([_summary("ststnet", "megc2019", 0.70), _summary("ststnet", "casme2", 0.6)])
    assert frame.loc[0, "published_uf1"] == 0.7353 and frame.loc[0, "published_uar"] == 0.7186
    assert frame.loc[0, "note"] == "UAR recomputed from its released log"
    assert frame["published_uf1"].isna().tolist() == [False, True]
    markdown, _ = write_comparison(tmp_path, frame, "t")
    assert "| megc2019 | ststnet | 2 | 0.7000 ± 0.0100 | 0.6900 ± 0.0200 | STSTNet | 0.7353 | 0.7186 |" in (
        markdown.read_text()
    )


def test_run_command_writes_one_folder_per_model_and_a_comparison(tiny_megc2019, tmp_path):
    experiment = tmp_path / "tiny.yaml"
    experiment.write_text(
        f"name: tiny\nseeds: [0, 1]\nworkers: 1\ndatasets:\n  megc2019:\n    data_dir: {tiny_megc2019}\n"
        "models:\n  linear: {}\n  ststnet:\n    training: {epochs: 1}\n"
    )
    command = [sys.executable, "-m", "microexp", "run", str(experiment), "--out", str(tmp_path / "out"),
               "--set", "models.ststnet.training.batch_size=16"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, env=subprocess_env())
    assert result.returncode == 0, result.stderr
    for model in ("linear", "ststnet"):
        assert (tmp_path / "out" / "megc2019" / model / "summary.json").is_file()
    config = json.loads((tmp_path / "out" / "megc2019" / "ststnet" / "config.json").read_text())
    assert config["train_config"]["batch_size"] == 16 and config["train_config"]["epochs"] == 1
    assert "0.7353" in (tmp_path / "out" / "comparison.md").read_text()
    again = subprocess.run(command, capture_output=True, text=True, env=subprocess_env())
    assert again.returncode == 0 and again.stdout.count("holds this run, finished") == 2
    unknown = subprocess.run(
        [*command, "--set", "modles.linear={}"], capture_output=True, text=True, env=subprocess_env()
    )
    assert unknown.returncode == 2 and "unknown key(s) ['modles']; valid keys" in unknown.stderr
    misspelt = subprocess.run(
        [*command, "--set", "model.dropuot=0.1"], capture_output=True, text=True, env=subprocess_env()
    )
    assert misspelt.returncode == 2 and "no option(s) ['dropuot']" in misspelt.stderr
