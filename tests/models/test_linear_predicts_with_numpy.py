"""The linear model predicts with numpy what scikit-learn's fitted LogisticRegression predicts, so its bundle
needs no scikit-learn to load."""

import subprocess
import sys

import numpy as np
import pytest

from conftest import subprocess_env
from microexp.models.linear import LinearFlowClassifier


@pytest.mark.parametrize("classes", [2, 3])
def test_probabilities_equal_scikit_learns(classes):
    rng = np.random.default_rng(classes)
    x = rng.normal(0, 1, (60, 40)) + np.repeat(np.eye(classes, 40) * 2, 60 // classes, axis=0)
    y = np.repeat(np.arange(classes), 60 // classes)
    model = LinearFlowClassifier(cs=(0.1,)).fit(x, y)
    scaler, reference = model._fit_one(x, y, 0.1)
    test = rng.normal(0, 1.5, (25, 40))
    assert np.allclose(model.predict_proba(test), reference.predict_proba(scaler.transform(test)), atol=1e-12)
    assert (model.predict(test) == reference.predict(scaler.transform(test))).all()
    rebuilt = LinearFlowClassifier.from_state_arrays(model.state_arrays())
    assert np.array_equal(rebuilt.predict_proba(test), model.predict_proba(test))


def test_a_rebuilt_model_predicts_without_importing_scikit_learn():
    model = LinearFlowClassifier().fit(np.random.default_rng(0).normal(size=(12, 5)), np.arange(12) % 3)
    arrays = {name: value.tolist() for name, value in model.state_arrays().items()}
    script = (
        "import sys, numpy as np\n"
        "from microexp.models.linear import LinearFlowClassifier\n"
        f"arrays = {{k: np.array(v) for k, v in {arrays!r}.items()}}\n"
        "LinearFlowClassifier.from_state_arrays(arrays).predict_proba(np.zeros((2, 5)))\n"
        "print('sklearn' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=subprocess_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
