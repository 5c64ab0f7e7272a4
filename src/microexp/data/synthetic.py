"""The ``synthetic`` database: the synthetic micro-expressions the demo and the tests make, read from the
CASME II copy :func:`microexp.data.synthetic_write.write_database` writes, with a 3-class label map. How the
clips are rendered: :mod:`microexp.data.synthetic_render`.
"""

from __future__ import annotations

from microexp.data.base import LabelMap
from microexp.data.casme2 import CASME2
from microexp.data.synthetic_render import CLASSES, EXPRESSIONS


class SyntheticMicroExpressions(CASME2):
    """CASME II's adapter with the generator's 3-class label map and none of CASME II's fixes."""

    name = "synthetic"
    title = "Synthetic micro-expressions"
    description = "synthetic micro-expressions rendered from one face photograph (microexp demo); CASME II layout"
    label_maps = {
        "3class": LabelMap(
            "3class",
            CLASSES,
            {emotion: label for label, (emotion, _) in EXPRESSIONS.items()},
            "negative (disgust: AU4+9), positive (happiness: AU6+12), surprise (AU1+2+26)",
        )
    }
    default_label_map = "3class"
    default_splitter = "loso"
    fixes = {}  # CASME II's fixes concern its real clips, not these
