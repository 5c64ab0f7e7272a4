"""A support-vector machine on a feature vector, its hyper-parameters chosen by cross-validation over the
training subjects only: the classifier of the Li et al. pipeline (:mod:`microexp.models.li_regions`) and of
the hand-crafted descriptors LBP-TOP, HOOF and MDMO (registered here, each also with the ``linear`` model's
logistic regression).

Fitting, all on the training fold: columns constant over the training clips are dropped, the rest
standardised; an optional revision (``revision="pca"``: principal components keeping ``variance`` of the
variance) drops redundant dimensions; then the kernel (``kernels``) and C (``cs``) with the best macro F1
over ``inner_folds`` folds grouped by training subject (each inner fold refits the standardisation and the
revision on its own training part) are refitted on the whole training fold, with class-balanced weights;
probabilities come from sigmoids fitted to its decisions on held-out stratified folds of the training clips
(Platt scaling, as scikit-learn now recommends over libsvm's own). With fewer training subjects than inner folds the
middle of each grid is taken. The test fold never reaches any of it.

A bundle keeps the chosen settings, the standardisation and revision as arrays, and the revised training
features and labels: loading refits the SVM and its calibration on them (both deterministic, so the
probabilities are the same to the last bit; a test pins it). This avoids pickling, and an SVM's support
vectors are training features anyway.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import f1_score
from sklearn.model_selection import GroupKFold
from sklearn.svm import SVC

from microexp.errors import ConfigError
from microexp.models.linear import LinearFlowClassifier
from microexp.models.registry import register_model

REVISIONS = ("none", "pca")
KERNELS = ("linear", "rbf")
# libsvm's iterations per pair of classes. A linear kernel at C = 100 on inseparable features (MDMO's angles)
# takes millions (20 s a fit, and 340 fits a LOSO run); the features this project measured converge within
# 5,000 otherwise. A fit that reaches the cap stops there, deterministically.
MAX_ITERATIONS = 100_000


def _svc(kernel: str, c: float) -> SVC:
    return SVC(kernel=kernel, C=c, gamma="scale", class_weight="balanced", max_iter=MAX_ITERATIONS)


def _fit_revision(x: np.ndarray, revision: str, variance: float) -> dict[str, np.ndarray]:
    """What the revision needs, fitted on ``x`` alone: kept columns, their mean and scale, the components."""
    std = x.std(axis=0)
    keep = std > 1e-12 * max(float(np.abs(x).max()), 1.0)
    mean, scale = x[:, keep].mean(axis=0), std[keep]
    components = np.zeros((0, int(keep.sum())))
    if revision == "pca" and keep.any():
        pca = PCA(n_components=variance, svd_solver="full").fit((x[:, keep] - mean) / scale)
        components = pca.components_
    return {"keep": keep, "mean": mean, "scale": scale, "components": components}


def _revise(x: np.ndarray, fitted: dict[str, np.ndarray]) -> np.ndarray:
    z = (x[:, fitted["keep"]] - fitted["mean"]) / fitted["scale"]
    # standardised data has zero mean on the training fold, so PCA's centring is already done
    return z @ fitted["components"].T if len(fitted["components"]) else z


class SubjectCVSVM(ClassifierMixin, BaseEstimator):
    """Drop constant columns, standardise, revise (none or PCA), SVM with kernel and C chosen by
    subject-grouped CV on macro F1."""

    def __init__(
        self,
        revision: str = "none",
        variance: float = 0.95,
        kernels: tuple[str, ...] = KERNELS,
        cs: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0),
        inner_folds: int = 5,
    ) -> None:
        self.revision = revision
        self.variance = variance
        self.kernels = kernels
        self.cs = cs
        self.inner_folds = inner_folds

    def check_options(self) -> None:
        """Refuse options it cannot fit with (the factories call it, so a study refuses them before it starts)."""
        if self.revision not in REVISIONS:
            raise ConfigError(f"SVM revision {self.revision!r} is unknown; choose one of {REVISIONS}")
        if not 0 < self.variance <= 1:
            raise ConfigError(f"SVM revision variance must be in (0, 1], got {self.variance!r}")
        if not self.kernels or any(k not in KERNELS for k in self.kernels):
            raise ConfigError(f"SVM kernels {self.kernels!r}: choose among {KERNELS}")
        if not self.cs or any(not c > 0 for c in self.cs):
            raise ConfigError(f"SVM C values must be positive, got {self.cs!r}")
        if not isinstance(self.inner_folds, int) or self.inner_folds < 2:
            raise ConfigError(f"SVM inner_folds must be an integer of at least 2, got {self.inner_folds!r}")

    @staticmethod
    def _calibrated(kernel: str, c: float, y: np.ndarray) -> CalibratedClassifierCV:
        """One SVM on all the training clips, its decisions turned into probabilities by sigmoids fitted on
        held-out decisions of (at most) 5 stratified folds of them, unshuffled: deterministic."""
        folds = int(min(5, np.bincount(np.unique(y, return_inverse=True)[1]).min()))
        return CalibratedClassifierCV(_svc(kernel, c), method="sigmoid", cv=max(folds, 2), ensemble=False)

    def fit(self, x: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None) -> SubjectCVSVM:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=ConvergenceWarning)  # MAX_ITERATIONS says why
            return self._fit(x, y, groups)

    def _fit(self, x: np.ndarray, y: np.ndarray, groups: np.ndarray | None) -> SubjectCVSVM:
        self.check_options()
        x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        grid = [(kernel, c) for kernel in self.kernels for c in self.cs]
        if groups is None or len(grid) == 1 or len(set(np.asarray(groups).tolist())) < self.inner_folds:
            self.kernel_, self.c_ = self.kernels[len(self.kernels) // 2], self.cs[len(self.cs) // 2]
        else:
            folds = list(GroupKFold(self.inner_folds).split(x, y, groups))
            revised = []
            for fit_rows, val_rows in folds:
                fitted = _fit_revision(x[fit_rows], self.revision, self.variance)
                revised.append((_revise(x[fit_rows], fitted), _revise(x[val_rows], fitted)))
            scores = []
            for kernel, c in grid:
                predictions = np.empty_like(y)
                for (fit_rows, val_rows), (x_fit, x_val) in zip(folds, revised, strict=True):
                    # plain SVC decisions inside the search: Platt scaling only changes the final probabilities
                    predictions[val_rows] = _svc(kernel, c).fit(x_fit, y[fit_rows]).predict(x_val)
                scores.append(f1_score(y, predictions, average="macro"))
            self.kernel_, self.c_ = grid[int(np.argmax(scores))]
        self.revision_ = _fit_revision(x, self.revision, self.variance)
        self.train_x_, self.train_y_ = _revise(x, self.revision_), np.asarray(y)
        self.classes_ = np.unique(y)
        self.model_ = self._calibrated(self.kernel_, self.c_, self.train_y_).fit(self.train_x_, self.train_y_)
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        return self.model_.predict_proba(_revise(x, self.revision_))

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(x), axis=1)]

    def state_arrays(self) -> dict[str, np.ndarray]:
        """The fitted classifier as plain arrays (model bundles hold no pickle)."""
        return {
            "kernel": np.array([KERNELS.index(self.kernel_)]),
            "c": np.array([self.c_]),
            **{f"revision_{key}": value for key, value in self.revision_.items()},
            "train_x": self.train_x_,
            "train_y": self.train_y_,
        }

    @classmethod
    def from_state_arrays(cls, arrays: dict[str, np.ndarray]) -> SubjectCVSVM:
        fitted = cls()
        fitted.kernel_, fitted.c_ = KERNELS[int(arrays["kernel"][0])], float(arrays["c"][0])
        fitted.revision_ = {key: arrays[f"revision_{key}"] for key in ("keep", "mean", "scale", "components")}
        fitted.revision_["keep"] = fitted.revision_["keep"].astype(bool)
        fitted.train_x_, fitted.train_y_ = arrays["train_x"], arrays["train_y"]
        fitted.classes_ = np.unique(fitted.train_y_)
        svm = cls._calibrated(fitted.kernel_, fitted.c_, fitted.train_y_)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=ConvergenceWarning)
            fitted.model_ = svm.fit(fitted.train_x_, fitted.train_y_)
        return fitted


def subject_cv_svm(revision, variance, kernels, cs, inner_folds) -> SubjectCVSVM:
    model = SubjectCVSVM(
        revision=revision, variance=variance, kernels=tuple(kernels), cs=tuple(float(c) for c in cs),
        inner_folds=inner_folds,
    )
    model.check_options()
    return model


# The descriptors' default layouts (microexp.inputs.descriptors): LBP-TOP on 5 x 5 blocks, HOOF on 4 x 4.
DESCRIPTORS = {"lbp_top": (4425,), "hoof": (128,), "mdmo": (72,)}


def _register_descriptor(descriptor: str, shape: tuple[int, ...]) -> None:
    def svm_model(
        *,
        num_classes: int,
        in_chans: int,
        revision: str = "none",
        variance: float = 0.95,
        kernels: tuple[str, ...] = KERNELS,
        cs: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0),
        inner_folds: int = 5,
    ) -> SubjectCVSVM:
        del num_classes, in_chans  # the SVM adapts to the data it is fitted on
        return subject_cv_svm(revision, variance, kernels, cs, inner_folds)

    def linear_model(
        *, num_classes: int, in_chans: int, cs: tuple[float, ...] = (1e-3,), inner_folds: int = 5
    ) -> LinearFlowClassifier:
        del num_classes, in_chans
        return LinearFlowClassifier(cs=tuple(cs), inner_folds=inner_folds)

    # the registry reads the first docstring line as the model's description
    svm_model.__doc__ = f"SVM on {descriptor} (kernel and C chosen by CV over training subjects)."
    linear_model.__doc__ = f"Logistic regression on {descriptor} (C = 1e-3 fixed, as the flow model `linear`)."
    register_model(f"{descriptor}_svm", inputs={descriptor: shape}, backend="sklearn")(svm_model)
    register_model(f"{descriptor}_linear", inputs={descriptor: shape}, backend="sklearn")(linear_model)


for _name, _shape in DESCRIPTORS.items():
    _register_descriptor(_name, _shape)
