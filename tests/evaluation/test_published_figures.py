from pathlib import Path

from microexp.evaluation.comparison import PUBLISHED, published_for
from microexp.models.registry import list_models


def test_a_peers_cpu_schedule_sits_beside_its_papers_figure():
    assert published_for("htnet_cpu", "megc2019") == PUBLISHED["htnet"]
    assert published_for("sssnet_cpu", "megc2019").uf1 == 0.739
    assert published_for("htnet_cpu", "ckplus48").uf1 is None  # composite figures only beside the composite
    assert published_for("minet", "megc2019").uf1 is None


def test_every_published_figure_names_a_source():
    for name, published in PUBLISHED.items():
        assert published.source, name
        assert published.uf1 is None or 0 < published.uf1 < 1, name


def test_the_leaderboard_file_names_registered_models_only():
    from microexp.evaluation.experiment import load_experiment

    names = {model.name for model in load_experiment(Path(__file__).parents[2] / "experiments/leaderboard.yaml").models}
    assert names <= set(list_models())
    assert {"htnet_cpu", "sssnet_cpu", "rcn_cpu", "deep_emotion_paper", "fr", "li_regions"} <= names
