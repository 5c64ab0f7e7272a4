"""Deep-Emotion on the MEGC2019 composite (442 clips, 68 subjects), leave-one-subject-out: the apex face
alone (``deep_emotion``, grey 48x48) and the apex face stacked with the onset-apex flow
(``deep_emotion_apexflow``, grey + u, v, strain at 48x48), so appearance and motion can be compared.

    PYTHONPATH=src python benchmarks/deep_emotion_megc2019.py --out runs/de_megc --seeds 0 1 2

Fixed schedule, the same for both inputs, never chosen on test folds; predictions of each (model, seed)
are written as they end, so a cut run keeps what it finished. UF1 / UAR are pooled over all folds.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd

from microexp.data.megc2019 import MEGC2019
from microexp.evaluation.runner import cross_validate, summarise
from microexp.files import write_text
from microexp.training.config import TrainConfig

# The CK+ schedule without rotation (it would turn the flow image without turning its vectors), at 30 epochs
# (68 folds cost more than CK+'s 10), plus class weighting because the composite is imbalanced (250 negative,
# 109 positive, 83 surprise).
SCHEDULE = TrainConfig(
    epochs=30,
    batch_size=32,
    lr=1e-3,
    optimizer="adam",
    cosine_schedule=True,
    class_weighting=True,
    augment_flip=True,
    augment_shift=0.1,
    test_flip=True,
)
MODELS = ("deep_emotion", "deep_emotion_apexflow")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/megc2019"
    )
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=SCHEDULE.epochs)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True, help="folder for predictions and the summary")
    args = parser.parse_args()

    table = MEGC2019(args.data).load()
    config = SCHEDULE.replace(epochs=args.epochs)
    args.out.mkdir(parents=True, exist_ok=True)
    predictions: dict[str, list[pd.DataFrame]] = {model: [] for model in args.models}
    walls = dict.fromkeys(args.models, 0.0)
    # Seed-major, so a cut run still has every input at its first seeds; each (model, seed) is saved.
    for seed in args.seeds:
        for model in args.models:
            start = time.perf_counter()
            predictions[model].append(
                cross_validate(table, model, seeds=[seed], config=config, workers=args.workers)
            )
            write_text(args.out / f"{model}_seed{seed}.csv", predictions[model][-1].to_csv(index=False))
            walls[model] += time.perf_counter() - start
            print(f"{model} seed {seed} done in {time.perf_counter() - start:.0f} s", flush=True)
    summaries = {}
    for model in args.models:
        summary = summarise(pd.concat(predictions[model]), table, model=model, wall_seconds=walls[model])
        summaries[model] = summary
        print(
            f"{model}: UF1 {summary['uf1']['mean']:.4f} ± {summary['uf1']['std']:.4f}, "
            f"UAR {summary['uar']['mean']:.4f} ± {summary['uar']['std']:.4f}, "
            f"wall {summary['wall_seconds']:.0f} s"
        )
        for part, scores in summary["parts"].items():
            print(f"  {part}: UF1 {scores['uf1']['mean']:.4f}, UAR {scores['uar']['mean']:.4f}")
    write_text(args.out / "summary.json", json.dumps(summaries, indent=1, default=str))


if __name__ == "__main__":
    main()
