"""MiNet's spatial features of micro (composite) and macro (CK+ sequences) clips before and after alignment:
``minet`` trained on the composite alone, and a transfer model (default ``minet_transfer``) trained on the
composite with CK+ as its training-only macro table; both on every clip (this is a picture of the learnt
features, not a score), seed 0, their registered schedules. ``--teacher BUNDLE`` (repeatable) adds a panel
of the transfer model taught by a MaNet bundle (``manet`` or ``manet_faces``) on the composite's clips alone.
Prints the domain gap of each panel.

    PYTHONPATH=src python benchmarks/micro_macro_embedding.py --out docs/results/micro_macro_embedding.png \
        [--teacher TEACHER_BUNDLE ...]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from microexp.evaluation.runner import train_on_rows
from microexp.evaluation.study import TableSpec, load_study_table, make_run_spec
from microexp.inputs.build import build_inputs
from microexp.inputs.dataset import SampleDataset
from microexp.models.micro_macro import teacher_description
from microexp.models.registry import get_model_info
from microexp.viz.domain_embedding import domain_gap, embed_2d, plot_domain_embedding


def spatial_features(trained, dataset: SampleDataset) -> np.ndarray:
    """MiNet's spatial features (eval mode) of every sample."""
    raw = {name: torch.as_tensor(x) for name, x in dataset.arrays().items()}
    apex, _ = trained.standardise(raw)
    trained.model.eval()
    with torch.no_grad():
        return trained.model.spatial_features(apex).cpu().numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--composite", default="../shared/data/megc2019")
    parser.add_argument("--macro", default="../shared/data/macro/ckplus_sequences")
    parser.add_argument("--transfer", default="minet_transfer")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--teacher", type=Path, action="append", default=[], help="a MaNet bundle: one more panel")
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "microexp")
    args = parser.parse_args()
    macro_table = TableSpec("ckplus", Path(args.macro), "megc3", role="train")
    spec = make_run_spec(dataset="megc2019", data_dir=args.composite, model=args.transfer, extra_tables=[macro_table])
    table = build_inputs(load_study_table(spec), get_model_info("minet").inputs, spec.inputs, cache_dir=args.cache_dir)
    domains = np.where(table.samples["role"] == "evaluate", "micro", "macro")
    everything = SampleDataset(table, get_model_info("minet").inputs)
    panels = {}
    micro_rows = np.flatnonzero(domains == "micro")
    runs = [
        ("minet", micro_rows, "MiNet alone (before alignment)", {}),
        (args.transfer, np.arange(len(table)), f"{args.transfer} (after alignment)", {}),
    ]
    for teacher in args.teacher:
        motion = teacher_description(teacher)["model"] == "manet"  # a face-only teacher teaches no relation
        title = f"{args.transfer} taught by {teacher.name}"
        runs.append((args.transfer, micro_rows, title, {"teacher": str(teacher), "relation": motion}))
    for model, rows, title, options in runs:
        start = time.perf_counter()
        config = make_run_spec(dataset="megc2019", data_dir=args.composite, model=model).train
        trained = train_on_rows(model, table, rows, seed=0, config=config, model_options=options)
        panels[title] = spatial_features(trained, everything)
        gap = domain_gap(embed_2d(panels[title])[0], domains)
        print(f"{title}: trained in {time.perf_counter() - start:.0f} s, domain gap {gap:.2f}")
    figure = plot_domain_embedding(panels, table.samples["label"].to_numpy(), domains, table.classes)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
