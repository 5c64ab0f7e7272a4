"""The floor every deep model must clear: L2-regularised logistic regression on the raw flow pixels.

The regularisation strength C is fixed in advance at 1e-3 (strong regularisation: 2,352 inputs for about
440 clips). Passing several ``cs`` chooses C inside each training fold by cross-validation grouped by
training subjects (never the test subject); it is 20 times slower, so it is not the default.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import StandardScaler

from microexp.models.registry import register_model


class LinearFlowClassifier(ClassifierMixin, BaseEstimator):
    """Standardise flattened flows, then logistic regression with C picked by subject-grouped CV (UF1)."""

    def __init__(self, cs: tuple[float, ...] = (1e-3,), inner_folds: int = 5) -> None:
        self.cs = cs
        self.inner_folds = inner_folds

    def _fit_one(self, x: np.ndarray, y: np.ndarray, c: float) -> tuple[StandardScaler, LogisticRegression]:
        scaler = StandardScaler().fit(x)
        model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
        return scaler, model.fit(scaler.transform(x), y)

    def fit(self, x: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None) -> LinearFlowClassifier:
        x = x.reshape(len(x), -1)
        self.classes_ = np.unique(y)
        if groups is None or len(self.cs) == 1 or len(set(groups.tolist())) < self.inner_folds:
            self.c_ = self.cs[len(self.cs) // 2]
        else:
            scores = []
            for c in self.cs:
                predictions = np.empty_like(y)
                for fit_rows, val_rows in GroupKFold(self.inner_folds).split(x, y, groups):
                    scaler, model = self._fit_one(x[fit_rows], y[fit_rows], c)
                    predictions[val_rows] = model.predict(scaler.transform(x[val_rows]))
                scores.append(f1_score(y, predictions, average="macro"))
            self.c_ = self.cs[int(np.argmax(scores))]
        self.scaler_, self.model_ = self._fit_one(x, y, self.c_)
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return self.model_.predict_proba(self.scaler_.transform(x.reshape(len(x), -1)))

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(x), axis=1)]

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Everything a fitted classifier predicts with, as plain arrays (for model bundles: no pickle)."""
        return {
            "scaler_mean": self.scaler_.mean_,
            "scaler_scale": self.scaler_.scale_,
            "coef": self.model_.coef_,
            "intercept": self.model_.intercept_,
            "classes": self.classes_,
            "c": np.array([self.c_]),
        }

    @classmethod
    def from_state_arrays(cls, arrays: dict[str, np.ndarray]) -> LinearFlowClassifier:
        """Rebuild a fitted classifier from :meth:`state_arrays`; predictions are identical (the
        constructor's search settings only matter for fitting)."""
        fitted = cls()
        fitted.classes_ = arrays["classes"]
        fitted.c_ = float(arrays["c"][0])
        fitted.scaler_ = StandardScaler()
        fitted.scaler_.mean_ = arrays["scaler_mean"]
        fitted.scaler_.scale_ = arrays["scaler_scale"]
        fitted.scaler_.var_ = arrays["scaler_scale"] ** 2
        fitted.scaler_.n_features_in_ = len(arrays["scaler_mean"])
        fitted.scaler_.n_samples_seen_ = 0
        fitted.model_ = LogisticRegression(C=fitted.c_, max_iter=2000, class_weight="balanced")
        fitted.model_.coef_ = arrays["coef"]
        fitted.model_.intercept_ = arrays["intercept"]
        fitted.model_.classes_ = arrays["classes"]
        fitted.model_.n_features_in_ = arrays["coef"].shape[1]
        return fitted


@register_model("linear", inputs={"flow": (3, 28, 28)}, backend="sklearn")
def linear(
    *, num_classes: int, in_chans: int, cs: tuple[float, ...] = (1e-3,), inner_folds: int = 5
) -> LinearFlowClassifier:
    """Logistic regression on raw flow pixels (C=1e-3, or chosen by subject-grouped CV among ``cs``)."""
    del num_classes, in_chans  # the classifier adapts to the data it is fitted on
    return LinearFlowClassifier(cs=tuple(cs), inner_folds=inner_folds)


@register_model("landmarks_linear", inputs={"landmarks": (136,)}, backend="sklearn")
def landmarks_linear(
    *, num_classes: int, in_chans: int, cs: tuple[float, ...] = (1e-3,), inner_folds: int = 5
) -> LinearFlowClassifier:
    """Logistic regression on the onset-apex displacements of the 68 landmarks (a geometric baseline)."""
    del num_classes, in_chans
    return LinearFlowClassifier(cs=tuple(cs), inner_folds=inner_folds)
