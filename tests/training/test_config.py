import pytest

from microexp.errors import ConfigError
from microexp.evaluation.study import parse_overrides
from microexp.training.config import TrainConfig


def test_overrides_are_typed_like_a_user_means_them():
    parsed = parse_overrides(["train.lr=2e-3", "train.epochs=60", "train.augment_flip=true", "model.dropout=0.3"])
    assert parsed["train"] == {"lr": 0.002, "epochs": 60, "augment_flip": True}
    assert parsed["model"] == {"dropout": 0.3}
    assert parse_overrides(["splitter=subject-kfold", "splitter.n_splits=5", "inputs.norm=magnitude"]) == {
        "model": {},
        "train": {},
        "inputs": {"norm": "magnitude"},
        "splitter": {"n_splits": 5},
        "splitter_name": "subject-kfold",
    }
    for bad in (["lr"], ["lr=3"], ["training.lr=3"]):
        with pytest.raises(ConfigError, match="section.key=value"):
            parse_overrides(bad)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"epochs": "abc"}, "expected int"),
        ({"epochs": 2.5}, "expected int"),
        ({"class_weighting": "maybe"}, "expected true/false"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused(values, expected):
    with pytest.raises(ConfigError, match=expected):
        TrainConfig.from_dict(values)


def test_unknown_training_option_lists_the_valid_ones():
    with pytest.raises(ConfigError, match=r"unknown training option\(s\) \['epoch'\]; valid options: \['epochs'"):
        TrainConfig.from_dict({"epoch": 3})


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"weight_decay": -1}, r"weight_decay=-1: expected at least 0"),
        ({"label_smoothing": 1.0}, r"label_smoothing=1.0: expected in \[0, 1\)"),
        ({"val_fraction": 0}, r"val_fraction=0: expected in \(0, 1\)"),
        ({"early_stopping_patience": 0}, r"early_stopping_patience=0: expected an epoch count"),
        ({"lr": float("nan")}, r"lr=nan: expected a finite float"),
        ({"weight_decay": float("inf")}, r"weight_decay=inf: expected a finite float"),
        ({"class_weighting": 2}, r"class_weighting=2: expected true/false"),
        ({"device": "gpu"}, r"device='gpu': expected auto, cpu, cuda, cuda:N or mps"),
    ],
)
def test_a_value_out_of_range_is_refused_when_the_config_is_made(values, expected):
    with pytest.raises(ConfigError, match=expected):
        TrainConfig.from_dict(values)
    with pytest.raises(ConfigError, match=expected):
        TrainConfig(**values)


def test_a_boolean_may_be_written_one_or_zero():
    config = TrainConfig.from_dict({"class_weighting": 1, "augment_flip": 0})
    assert config.class_weighting is True and config.augment_flip is False


def test_a_cuda_device_this_machine_lacks_is_refused():
    import torch

    missing = f"cuda:{torch.cuda.device_count()}"
    with pytest.raises(ConfigError, match=rf"device='{missing}': this machine has \d+ CUDA device"):
        TrainConfig(device=missing)
