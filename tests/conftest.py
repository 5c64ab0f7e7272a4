"""Shared test fixtures. The licensed data is read from ../shared/data (or $MICROEXP_SHARED_DATA);
tests that need it skip with a reason when it is absent. Every other fixture is generated here."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MICROEXP_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def subprocess_env() -> dict[str, str]:
    """Environment for a `python -m microexp` subprocess: it must import this checkout's package, not the
    one an editable install elsewhere (another worktree) points at."""
    source = str(REPO_ROOT / "src")
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))}


def shared_path(*parts: str) -> Path:
    """Path inside the shared licensed data, or skip the test when it is not on this machine."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"licensed data not available: {path} is absent (set MICROEXP_SHARED_DATA)")
    return path


@pytest.fixture
def shared_data() -> Path:
    return shared_path()


def write_tiny_megc2019(
    root: Path, *, subjects_per_part: int = 2, clips_per_class: int = 2, seed: int = 0, apex_faces: bool = False
) -> Path:
    """A small copy of the MEGC2019 composite in its distributed layout: the headed csv and 28x28 RGB flow
    PNGs (named with the space before .png). Each class moves a different region, so it is learnable.
    ``apex_faces``: also 64x64 grey apex images in apex_face_224/, brighter where the class's region is."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    flow_dir = root / "flow_uvos_28"
    flow_dir.mkdir(parents=True)
    lines = ["dataset,sub,filename_o,label,apex,imagename,sub_filename"]
    subject_names = {"casme2": "sub{:02d}", "samm": "{:03d}", "smic": "s{:02d}"}
    for part, pattern in subject_names.items():
        for s in range(1, subjects_per_part + 1):
            subject = pattern.format(s + 5)
            for label in range(3):
                for k in range(clips_per_class):
                    clip = f"{subject}_c{label}_{k}" if part != "casme2" else f"EP0{label}_{k:02d}f"
                    image = rng.integers(0, 60, size=(28, 28, 3))
                    image[label * 9 : label * 9 + 9, :, :2] += 150  # the class's region moves
                    Image.fromarray(image.clip(0, 255).astype(np.uint8)).save(flow_dir / f"{subject}_{clip} .png")
                    if apex_faces:
                        face = rng.integers(0, 60, size=(64, 64), dtype=np.uint8)
                        face[label * 21 : label * 21 + 21] += 150
                        (root / "apex_face_224").mkdir(exist_ok=True)
                        Image.fromarray(face).save(root / "apex_face_224" / f"{subject}_{clip}.jpg")
                    lines.append(f"{part},{subject},{clip},{label},,{subject}_{clip}.jpg,")
    (root / "combined_3_class2_for_optical_flow.csv").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture
def tiny_megc2019(tmp_path: Path) -> Path:
    return write_tiny_megc2019(tmp_path / "megc2019")
