import numpy as np
import pytest

from conftest import shared_path
from microexp.errors import DataError, DataNotFoundError
from microexp.evaluation.metrics import LogEntry, read_megc_log, score, score_megc_log, write_megc_log


def test_golden_figures_of_the_published_ststnet_log():
    scores = score_megc_log(shared_path("megc2019", "ststnet_matlab_log.txt"))
    assert scores["all"].n == 442
    assert (round(scores["all"].uf1, 4), round(scores["all"].uar, 4), round(scores["all"].accuracy, 4)) == (
        0.7353,
        0.7186,
        0.7692,
    )
    expected = {"smic": (0.6801, 0.6703), "casme2": (0.8382, 0.8190), "samm": (0.6588, 0.6415)}
    for part, (uf1, uar) in expected.items():
        assert (round(scores[part].uf1, 4), round(scores[part].uar, 4)) == (uf1, uar)


def test_uf1_and_uar_by_hand():
    labels = [0, 0, 0, 1, 1, 2]
    predictions = [0, 0, 1, 1, 2, 2]
    s = score(labels, predictions, 3)
    # class 0: tp 2 fp 0 fn 1; class 1: tp 1 fp 1 fn 1; class 2: tp 1 fp 1 fn 0
    assert s.uf1 == pytest.approx(np.mean([4 / 5, 2 / 4, 2 / 3]))
    assert s.uar == pytest.approx(np.mean([2 / 3, 1 / 2, 1]))
    assert s.accuracy == pytest.approx(4 / 6)
    assert s.weighted_f1 == pytest.approx((3 * 4 / 5 + 2 * 2 / 4 + 1 * 2 / 3) / 6)
    assert s.confusion.tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]


def test_uar_is_recall_not_precision():
    # Always predicting class 0: recall of class 0 is 1, others 0 -> UAR 1/3; macro precision would differ.
    s = score([0, 0, 0, 0, 1, 2], [0, 0, 0, 0, 0, 0], 3)
    assert s.uar == pytest.approx(1 / 3)


def test_megc_log_round_trip(tmp_path):
    entries = [LogEntry("casme2", "sub01", "EP02_01f", 1, 1), LogEntry("samm", "006", "006_1_2", 0, 2)]
    write_megc_log(tmp_path / "log.txt", entries)
    assert read_megc_log(tmp_path / "log.txt") == entries
    assert (tmp_path / "log.txt").read_text().splitlines() == [
        "casme2 sub01",
        "EP02_01f 1 1",
        "samm 006",
        "006_1_2 0 2",
    ]


def test_malformed_log_names_the_line(tmp_path):
    path = tmp_path / "log.txt"
    path.write_text("casme2 sub01\nEP02_01f 1 x\n")
    with pytest.raises(DataError, match=r"log.txt:2: expected '<clip> <gt> <pred>'"):
        read_megc_log(path)
    with pytest.raises(DataNotFoundError, match="does not exist"):
        read_megc_log(tmp_path / "nope.txt")
