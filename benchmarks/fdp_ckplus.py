"""FDP and its ablations on the 40 real CK+ sequences (10 subjects), folds by subject, seeds; and the
dynamic-image builder's speed, first build and cached.

    PYTHONPATH=src python benchmarks/fdp_ckplus.py --out runs/fdp_ckplus [--seeds 0 1 2] [--workers 2]

Every model runs on the same ten folds (the ckplus adapter's subject 10-fold, one subject a fold) with the
fixed schedule it registers (nothing is chosen on a test fold); each run is an ordinary `microexp evaluate`
run folder under --out, so an interrupted benchmark resumes. Prints accuracy and UF1 (pooled over folds,
mean ± std over seeds) per model, and the seconds each run took.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import time
from pathlib import Path

from microexp.data.registry import open_dataset
from microexp.evaluation.study import evaluate, make_run_spec
from microexp.inputs import InputSettings, InputSpec, build_inputs

MODELS = ("fdp", "fdp_no_decoder", "fdp_mean_pool", "fdp_apex")
ROLE = {
    "fdp": "FDP: rank scorer + dynamic-image decoder",
    "fdp_no_decoder": "without the decoder (λ = 0)",
    "fdp_mean_pool": "temporal mean instead of the rank scorer",
    "fdp_apex": "apex (peak) frame alone, same encoder",
}


def cache_speed(data: Path, scratch: Path) -> tuple[float, float, int]:
    """ms per clip of the dynamic-image builder (64x64, every frame onset to peak): a first build into an
    empty cache, then the same build again (read from the cache)."""
    table = open_dataset("ckplus", data).load()
    spec = {"dynamic_image": InputSpec("dynamic_image", (1, 64, 64))}
    shutil.rmtree(scratch, ignore_errors=True)
    times = []
    for _ in range(2):
        start = time.perf_counter()
        build_inputs(table, spec, InputSettings(), cache_dir=scratch)
        times.append(1000 * (time.perf_counter() - start) / len(table))
    return times[0], times[1], len(table)


def parse_args(description: str, models: tuple[str, ...]) -> argparse.Namespace:
    """The options every CK+ sequences benchmark takes; ``models``: the ones run by default."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/macro/ckplus_sequences"
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--models", nargs="*", default=list(models))
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--workers", type=int, default=2)
    return parser.parse_args()


def compare(args: argparse.Namespace, roles: dict[str, str], inputs: dict | None = None) -> None:
    """Each model of ``args.models`` on the ten folds, one run folder each under ``args.out``; prints a
    table row per model. ``inputs``: input settings every model's run uses."""
    print(f"{'model':22} {'accuracy':>15} {'UF1':>15} {'seconds':>8}  part")
    for model in args.models:
        spec = make_run_spec(dataset="ckplus", data_dir=args.data, model=model, seeds=args.seeds, inputs=inputs)
        summary, _ = evaluate(spec, args.out / model, workers=args.workers, cache_dir=args.out / "cache")
        accuracy, uf1 = summary["accuracy"], summary["uf1"]
        print(
            f"{model:22} {accuracy['mean']:.4f} ± {accuracy['std']:.4f} {uf1['mean']:.4f} ± {uf1['std']:.4f} "
            f"{summary['wall_seconds']:8.0f}  {roles.get(model, '')}"
        )


def main() -> None:
    args = parse_args(__doc__, MODELS)
    if not (args.data / "cohn-kanade-images").is_dir():
        print(f"skipped: the CK+ sequences are not at {args.data} (pass --data)")
        return
    print(f"CPU: {platform.processor() or platform.machine()}; workers {args.workers}")
    first, cached, clips = cache_speed(args.data, args.out / "cache_speed")
    print(f"dynamic image 64x64, {clips} clips: first build {first:.1f} ms/clip, cached {cached:.2f} ms/clip")
    compare(args, ROLE)


if __name__ == "__main__":
    main()
