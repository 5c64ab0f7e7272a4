"""One experiment's models side by side, with the published figures on the MEGC2019 composite beside ours."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from microexp.files import write_text


@dataclass(frozen=True)
class Published:
    method: str
    uf1: float | None
    uar: float | None
    note: str = ""
    source: str = ""  # where the figure was published


_NOT_PUBLISHED = Published("", None, None)

_MEB = (
    "Varanka, Li, Peng, Zhao, Data leakage and evaluation issues in micro-expression analysis, "
    "IEEE Trans. Affective Computing 2023 (arXiv 2211.11425), as quoted in the microexp guide §1 and issue 19"
)

# UF1 / UAR on all 442 clips of the composite, keyed by our model name (the figures as the microexp guide
# §1 tabulates them). Peers whose own papers give no composite figure carry MEB's honest rerun instead.
PUBLISHED = {
    "lbptop": Published(
        "LBP-TOP (challenge baseline)",
        0.5882,
        0.5785,
        source="See, Yap, Li, Hong, Wang, MEGC 2019: the second facial micro-expressions grand challenge, FG 2019",
    ),
    "offapexnet": Published(
        "OFF-ApexNet",
        0.7196,
        0.7096,
        source="Gan, Liong, Yau, Huang, Tan, OFF-ApexNet on micro-expression recognition system, "
        "Signal Processing: Image Communication 2019",
    ),
    "ststnet": Published(
        "STSTNet",
        0.7353,
        0.7186,
        "UAR recomputed from its released log",
        "Liong, See, Wong, Phan, Shallow triple stream three-dimensional CNN (STSTNet) for micro-expression "
        "recognition, FG 2019",
    ),
    "fr": Published(
        "Feature Refinement (FR)",
        0.7838,
        0.7832,
        "no public code",
        "Zhou, Mao, Xue, Feature refinement: an expression-specific feature learning and fusion method for "
        "micro-expression recognition, Pattern Recognition 2022",
    ),
    "htnet": Published(
        "HTNet",
        0.8603,
        0.8475,
        "best test-fold epoch kept; honest reruns report 0.65–0.74",
        "Wang, Zhang, Luo, Sankaranarayana, HTNet for micro-expression recognition, Neurocomputing 2024 "
        "(arXiv 2307.14637)",
    ),
    "sssnet": Published("SSSNet (MEB's rerun)", 0.739, None, "final-epoch training; UAR not quoted", _MEB),
    "rcn": Published(
        "RCN (MEB's rerun)", 0.705, None, "final-epoch training; UAR not quoted; not in the guide's table", _MEB
    ),
    "linear": Published(
        "regularised logistic regression on the raw flows",
        0.72,
        0.73,
        "approximate; the floor a deep model must clear",
        "microexp's own measurement (docs/RESULTS.md), not a paper",
    ),
}
# The published figures are on the composite only; beside other databases they would mislead.
COMPOSITE_DATASETS = ("megc2019", "megc2019-composite")


def published_for(model: str, dataset: str) -> Published:
    """The published figure of ``model`` on ``dataset``; an empty one off the composite or when none is.
    A peer's CPU schedule (``htnet_cpu``) is beside its paper's figure: the name says the schedule differs."""
    if dataset not in COMPOSITE_DATASETS:
        return _NOT_PUBLISHED
    return PUBLISHED.get(model) or PUBLISHED.get(model.removesuffix("_cpu"), _NOT_PUBLISHED)


def comparison_frame(summaries: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per (dataset, model) run: our mean ± std over seeds, and the published figures."""
    rows = []
    for summary in summaries:
        published = published_for(summary["model"], summary["dataset"])
        rows.append(
            {
                "dataset": summary["dataset"],
                "model": summary["model"],
                "seeds": len(summary["seeds"]),
                "uf1_mean": summary["uf1"]["mean"],
                "uf1_std": summary["uf1"]["std"],
                "uar_mean": summary["uar"]["mean"],
                "uar_std": summary["uar"]["std"],
                "published_method": published.method,
                "published_uf1": published.uf1,
                "published_uar": published.uar,
                "note": published.note,
            }
        )
    return pd.DataFrame(rows)


def display_rows(frame: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Header and text cells, shared by the printed table and comparison.md."""
    header = ["dataset", "model", "seeds", "UF1", "UAR", "published", "published UF1", "published UAR", "note"]

    def published(value: float | None) -> str:
        return "" if pd.isna(value) else f"{value:.4f}"

    cells = [
        [
            row.dataset,
            row.model,
            str(row.seeds),
            f"{row.uf1_mean:.4f} ± {row.uf1_std:.4f}",
            f"{row.uar_mean:.4f} ± {row.uar_std:.4f}",
            row.published_method,
            published(row.published_uf1),
            published(row.published_uar),
            row.note,
        ]
        for row in frame.itertuples()
    ]
    return header, cells


def write_comparison(out_dir: Path, frame: pd.DataFrame, title: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    header, cells = display_rows(frame)
    lines = [f"# {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    paths = [out_dir / "comparison.md", out_dir / "comparison.csv"]
    write_text(paths[0], "\n".join(lines) + "\n")
    write_text(paths[1], frame.to_csv(index=False, float_format="%.4f"))
    return paths
