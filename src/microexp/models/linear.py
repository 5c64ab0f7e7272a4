"""The floor every deep model must clear: L2-regularised logistic regression on the raw flow pixels.

The regularisation strength C is fixed in advance at 1e-3 (strong regularisation: 2,352 inputs for about
440 clips). Passing several ``cs`` chooses C inside each training fold by cross-validation grouped by
training subjects (never the test subject); it is 20 times slower, so it is not the default.

Fitting uses scikit-learn; a fitted model keeps plain arrays and predicts with numpy, so a bundle of it loads
and predicts without importing scikit-learn (a second and 90 MB, more than the prediction itself).
"""

from __future__ import annotations

import numpy as np

from microexp.models.registry import register_model


class LinearFlowClassifier:
    """Standardise flattened flows, then logistic regression with C picked by subject-grouped CV (UF1)."""

    def __init__(self, cs: tuple[float, ...] = (1e-3,), inner_folds: int = 5) -> None:
        self.cs = cs
        self.inner_folds = inner_folds

    def _fit_one(self, x: np.ndarray, y: np.ndarray, c: float):
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        scaler = StandardScaler().fit(x)
        model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
        return scaler, model.fit(scaler.transform(x), y)

    def fit(self, x: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None) -> LinearFlowClassifier:
        from sklearn.metrics import f1_score
        from sklearn.model_selection import GroupKFold

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
        scaler, model = self._fit_one(x, y, self.c_)
        self.mean_, self.scale_ = scaler.mean_, scaler.scale_
        self.coef_, self.intercept_ = model.coef_, model.intercept_
        return self

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        """Scores (N, classes), or (N,) for two classes, as scikit-learn's LogisticRegression gives them."""
        scores = ((x.reshape(len(x), -1) - self.mean_) / self.scale_) @ self.coef_.T + self.intercept_
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities as scikit-learn's LogisticRegression computes them: the logistic function of
        the score for two classes, the softmax of the scores (multinomial) for more."""
        scores = self.decision_function(x)
        if scores.ndim == 1:
            positive = 1 / (1 + np.exp(-scores))
            return np.stack([1 - positive, positive], axis=1)
        scores = scores - scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(x), axis=1)]

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Everything a fitted classifier predicts with, as plain arrays (for model bundles: no pickle)."""
        return {
            "scaler_mean": self.mean_,
            "scaler_scale": self.scale_,
            "coef": self.coef_,
            "intercept": self.intercept_,
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
        fitted.mean_, fitted.scale_ = arrays["scaler_mean"], arrays["scaler_scale"]
        fitted.coef_, fitted.intercept_ = arrays["coef"], arrays["intercept"]
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
