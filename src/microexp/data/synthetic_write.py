"""Writing synthetic micro-expressions (:mod:`microexp.data.synthetic_render`) as a CASME II copy.

:func:`write_database` writes the clips in CASME II's raw layout with a coding sheet in CASME II's format,
so the real CASME II adapter and the input builders read them (the ``synthetic`` adapter,
:mod:`microexp.data.synthetic`, adds its 3-class label map). A manifest of the settings and the face image
makes a second call with the same ones reuse the written copy.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from microexp.data.casme2 import LAYOUTS, SHEET_2014
from microexp.data.synthetic_render import EXPRESSIONS, SyntheticSettings, clip_plan, make_subjects, render_clip
from microexp.errors import ConfigError
from microexp.files import atomic_path, write_image, write_json

MANIFEST = "synthetic.json"
FORMAT_VERSION = 1


def _image_digest(image: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(image).tobytes() + str(image.shape).encode()).hexdigest()[:16]


def write_database(
    root: str | Path,
    settings: SyntheticSettings = SyntheticSettings(),
    image: np.ndarray | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write a CASME II copy of synthetic clips under ``root``; reuse it when already written with the same
    settings and image. Layout: ``CASME2_RAW_selected/sub01/EP01_01f/img<N>.jpg`` and the coding sheet
    ``CASME2-coding-20140508.xlsx`` (frame numbers start at a random number, as in CASME II).
    ``progress(done, total)`` is called after each clip."""
    root = Path(root)
    expected = {
        "format_version": FORMAT_VERSION,
        "settings": dataclasses.asdict(settings),
        "image": "astronaut" if image is None else _image_digest(image),
    }
    manifest = root / MANIFEST
    if manifest.is_file():
        if json.loads(manifest.read_text()) == {**expected, "complete": True}:
            return root
    elif (root / LAYOUTS["raw"]).exists():
        raise ConfigError(
            f"{root} holds a CASME II tree the generator did not write; choose an empty folder for synthetic data"
        )
    # a manifest without "complete" marks a tree we own: an interrupted or older run, safe to replace
    root.mkdir(parents=True, exist_ok=True)
    write_json(manifest, {**expected, "complete": False})
    shutil.rmtree(root / LAYOUTS["raw"], ignore_errors=True)

    subjects = {s.number: s for s in make_subjects(settings, image)}
    plan = clip_plan(settings)
    rows = []
    for done, (number, clip_number, expression) in enumerate(plan, start=1):
        rng = np.random.default_rng([settings.seed, number, clip_number])
        clip = render_clip(subjects[number], expression, settings, rng)
        first = int(rng.integers(1, 200))
        name = f"EP{clip_number:02d}_01f"
        folder = root / LAYOUTS["raw"] / f"sub{number:02d}" / name
        folder.mkdir(parents=True)
        for i, frame in enumerate(clip.frames):
            write_image(folder / f"img{first + i}.jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 95])
        emotion, aus = EXPRESSIONS[expression]
        rows.append(
            {
                "Subject": number,
                "Filename": name,
                "OnsetFrame": first + clip.onset,
                "ApexFrame": first + clip.apex,
                "OffsetFrame": first + clip.offset,
                "Action Units": aus,
                "Estimated Emotion": emotion,
            }
        )
        if progress:
            progress(done, len(plan))
    with atomic_path(root / SHEET_2014) as temporary:
        pd.DataFrame(rows).to_excel(temporary, index=False)
    write_json(manifest, {**expected, "complete": True})  # last: the tree is whole
    return root
