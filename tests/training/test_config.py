import pytest

from microexp.errors import ConfigError
from microexp.training.config import TrainConfig, parse_overrides


def test_overrides_are_typed_like_a_user_means_them():
    assert parse_overrides(["lr=2e-3", "epochs=60", "augment_flip=true", "optimizer=sgd"]) == {
        "lr": 0.002,
        "epochs": 60,
        "augment_flip": True,
        "optimizer": "sgd",
    }
    with pytest.raises(ConfigError, match="expected key=value"):
        parse_overrides(["lr"])


def test_unknown_training_option_lists_the_valid_ones():
    with pytest.raises(ConfigError, match=r"unknown training option\(s\) \['epoch'\]; valid options: \['epochs'"):
        TrainConfig.from_dict({"epoch": 3})
