"""The subject-CV SVM behind li_regions and the descriptor models: the revision and the hyper-parameter
search see training subjects only; a bundle predicts what the fitted model predicts."""

import numpy as np
import pytest

from conftest import write_tiny_megc2019
from microexp.data.megc2019 import MEGC2019
from microexp.data.splitters import LeaveOneSubjectOut
from microexp.errors import ConfigError
from microexp.evaluation.runner import Task, run_task
from microexp.inputs import build_inputs
from microexp.models import create_model, get_model_info
from microexp.models.svm import SubjectCVSVM
from microexp.training.config import TrainConfig


def _data(seed=0, clips=60, features=40):
    rng = np.random.default_rng(seed)
    y = np.arange(clips) % 3
    x = rng.normal(size=(clips, features))
    x[:, :3] += 2.0 * np.eye(3)[y]  # three informative columns among noise
    x[:, 5] = 7.0  # a constant column, dropped
    groups = np.repeat(np.arange(clips // 6), 6).astype(str)
    return x, y, groups


def test_revision_and_search_are_fitted_on_the_training_rows_alone():
    x, y, groups = _data()
    train = groups != "0"
    reference = SubjectCVSVM(revision="pca").fit(x[train], y[train], groups[train])
    # what the test rows hold cannot change the fitted model: replace them by anything
    poisoned = x.copy()
    poisoned[~train] = np.random.default_rng(9).normal(scale=100.0, size=poisoned[~train].shape)
    poisoned[:, 5] = 7.0  # still constant, so both fits keep the same columns
    again = SubjectCVSVM(revision="pca").fit(poisoned[train], y[train], groups[train])
    assert (again.kernel_, again.c_) == (reference.kernel_, reference.c_)
    for key, value in reference.revision_.items():
        np.testing.assert_array_equal(again.revision_[key], value)
    # and the revision is the training rows' own: fitted on every row it would differ
    everything = SubjectCVSVM(revision="pca").fit(poisoned, y, groups)
    assert not np.allclose(everything.revision_["mean"], reference.revision_["mean"])


def test_the_test_subject_never_reaches_the_svm_in_a_study(tmp_path, monkeypatch):
    root = write_tiny_megc2019(tmp_path / "megc2019", apex_faces=True)
    table = build_inputs(MEGC2019(root).load(), get_model_info("li_regions").inputs, cache_dir=tmp_path / "cache")
    fold = next(iter(LeaveOneSubjectOut().split(table)))
    test_subjects = set(table.samples["subject"].iloc[fold.test])
    fitted_on = []
    original = SubjectCVSVM.fit

    def recording_fit(self, features, labels, groups=None):
        fitted_on.append(set(np.asarray(groups).tolist()))
        return original(self, features, labels, groups)

    monkeypatch.setattr(SubjectCVSVM, "fit", recording_fit)
    predictions = run_task(Task("li_regions", 0, fold, TrainConfig()), table)
    assert set(predictions["subject"]) == test_subjects
    assert fitted_on and all(not (subjects & test_subjects) for subjects in fitted_on)


def test_bundle_round_trip_predicts_the_same_probabilities():
    x, y, groups = _data()
    fitted = SubjectCVSVM(revision="pca").fit(x, y, groups)
    loaded = SubjectCVSVM.from_state_arrays(fitted.state_arrays())
    probe = np.random.default_rng(3).normal(size=(25, x.shape[1]))
    np.testing.assert_array_equal(loaded.predict_proba(probe), fitted.predict_proba(probe))
    assert (loaded.kernel_, loaded.c_) == (fitted.kernel_, fitted.c_)


def test_the_search_picks_from_its_grid_by_subject_folds_and_learns():
    x, y, groups = _data(clips=120)
    fitted = SubjectCVSVM(revision="none").fit(x, y, groups)
    assert fitted.kernel_ in ("linear", "rbf") and fitted.c_ in (0.1, 1.0, 10.0, 100.0)
    assert fitted.revision_["keep"].sum() == x.shape[1] - 1  # the constant column is gone
    fresh, fresh_y, _ = _data(seed=1, clips=120)
    assert (fitted.predict(fresh) == fresh_y).mean() > 0.6  # chance is 1/3
    pca = SubjectCVSVM(revision="pca", variance=0.5).fit(x, y, groups)
    assert 0 < len(pca.revision_["components"]) < x.shape[1] - 1


@pytest.mark.parametrize(
    "options, message",
    [({"revision": "lda"}, "revision 'lda' is unknown"), ({"cs": (0.0,)}, "must be positive"),
     ({"kernels": ("poly",)}, "choose among"), ({"variance": 1.5}, r"in \(0, 1\]"),
     ({"inner_folds": 1}, "at least 2")],
)
def test_bad_options_are_refused(options, message):
    x, y, groups = _data()
    with pytest.raises(ConfigError, match=message):
        create_model("li_regions", num_classes=3, **options).fit(x, y, groups)
