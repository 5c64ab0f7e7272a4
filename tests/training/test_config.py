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
    [({"epochs": "abc"}, "expected int"), ({"epochs": 2.5}, "expected int"), ({"class_weighting": "maybe"}, "bool")],
)
def test_a_value_of_the_wrong_type_is_refused(values, expected):
    with pytest.raises(ConfigError, match=expected):
        TrainConfig.from_dict(values)


def test_unknown_training_option_lists_the_valid_ones():
    with pytest.raises(ConfigError, match=r"unknown training option\(s\) \['epoch'\]; valid options: \['epochs'"):
        TrainConfig.from_dict({"epoch": 3})
