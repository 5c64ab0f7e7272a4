"""DSTICNN with and without the exchange between its streams on the 40 real CK+ sequences (10 subjects),
folds by subject, seeds: the same ten folds and reporting as FDP's benchmark (benchmarks/fdp_ckplus.py).

    PYTHONPATH=src python benchmarks/dsticnn_ckplus.py --out runs/dsticnn_ckplus [--seeds 0 1 2] [--workers 2]

Each model reads the sequence, neutral to peak, interpolated to 32 and to 64 frames by the temporal
interpolation model (``frame_sampling=tim``, as the paper interpolates), and trains on its registered
fixed schedule. Each run is an ordinary `microexp evaluate` run folder under --out, so an interrupted
benchmark resumes. Prints accuracy and UF1 (pooled over folds, mean ± std over seeds) per model, and the
seconds each run took.
"""

from __future__ import annotations

import platform

from fdp_ckplus import compare, parse_args

MODELS = ("dsticnn", "dsticnn_no_interaction")
ROLE = {
    "dsticnn": "DSTICNN: streams exchange maps after pool1-3",
    "dsticnn_no_interaction": "two independent streams, late fusion",
}
INPUTS = {"frame_sampling": "tim"}


def main() -> None:
    args = parse_args(__doc__, MODELS)
    if not (args.data / "cohn-kanade-images").is_dir():
        print(f"skipped: the CK+ sequences are not at {args.data} (pass --data)")
        return
    print(f"CPU: {platform.processor() or platform.machine()}; workers {args.workers}; inputs {INPUTS}")
    compare(args, ROLE, INPUTS)


if __name__ == "__main__":
    main()
