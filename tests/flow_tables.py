"""A small generated flow database: 28x28 (u, v, strain) PNGs whose class is visible (a bright square
at a class-specific place in u), plus apex face JPEGs, as a SampleTable like the MEGC2019 adapter's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from microexp.data.schema import SampleTable, build_table, make_clip_id

CLASSES = ("negative", "positive", "surprise")


def make_flow_table(root: Path, subjects: int = 3, clips_per_class: int = 2, seed: int = 0) -> SampleTable:
    rng = np.random.default_rng(seed)
    (root / "flow").mkdir(parents=True, exist_ok=True)
    (root / "apex").mkdir(parents=True, exist_ok=True)
    rows = []
    for s in range(subjects):
        subject = f"s{s:02d}"
        for label in range(len(CLASSES)):
            for c in range(clips_per_class):
                clip = f"{subject}_{label}_{c}"
                flow = rng.integers(0, 60, size=(28, 28, 3), dtype=np.uint8)
                flow[4 + 8 * label : 10 + 8 * label, 8:20, 0] = 255
                flow_path = root / "flow" / f"{clip}.png"
                Image.fromarray(flow).save(flow_path)
                apex_path = root / "apex" / f"{clip}.jpg"
                Image.fromarray(rng.integers(0, 255, size=(48, 48, 3), dtype=np.uint8)).save(apex_path)
                rows.append(
                    {
                        "dataset": "toy",
                        "subject": subject,
                        "clip_id": make_clip_id("toy", subject, clip),
                        "clip": clip,
                        "label": label,
                        "emotion": CLASSES[label],
                        "flow_path": str(flow_path),
                        "apex_path": str(apex_path),
                    }
                )
    return build_table("toy", CLASSES, rows)
