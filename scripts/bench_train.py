"""Wall time and peak memory of a whole walk-forward run, against bare Keras in the same run.

Usage:
    .venv/bin/python scripts/bench_train.py [--config configs/spy.yaml] [--set key=value ...]
        [--rounds N]

1. Trains CONFIG with ``tradenn train --quiet`` in a subprocess: wall time, peak resident
   memory (the child's ru_maxrss), models and epochs trained (from the run's history.csv).
2. Reference, measured right after on the same machine: a subprocess that builds a fresh
   plain ``keras.layers.LSTM`` model (same units, window, features, batch size, built-in
   activations, no regime input) for every model of the run and fits it on random data of
   the same size, with a validation set of the same size, for the same number of epochs
   the run's models actually trained, then predicts its test span.

With ``--rounds N`` the two alternate N times and the median ratio is reported: on a shared
machine, load that comes and goes moves a single pair's ratio by 10% or more.

The ratio (run / reference) is tradenn's whole cost — data, regimes, regime-conditioned
layers, ablations bookkeeping, saving — over the irreducible cost of Keras training.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REFERENCE = r"""
import json, sys, time
import numpy as np, keras
spec = json.loads(sys.argv[1])
keras.utils.set_random_seed(0)
start = time.perf_counter()
for job in spec["jobs"]:
    x = np.random.default_rng(0).normal(size=(job["rows"], spec["window"], spec["features"]))
    y = np.random.default_rng(1).normal(size=job["rows"])
    inputs = keras.Input((spec["window"], spec["features"]))
    h = inputs if spec["lstm_units"] else keras.layers.Flatten()(inputs)
    for i, units in enumerate(spec["lstm_units"]):
        h = keras.layers.LSTM(units, return_sequences=i < len(spec["lstm_units"]) - 1)(h)
    for units in spec["dense_units"]:
        h = keras.layers.Dense(units, activation="swish")(h)
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    model.compile(optimizer="adam", loss="huber")
    n_val = job["val_rows"]
    model.fit(x[n_val:].astype("float32"), y[n_val:].astype("float32"), epochs=job["epochs"],
              validation_data=(x[:n_val].astype("float32"), y[:n_val].astype("float32")),
              batch_size=spec["batch_size"], verbose=0)
    model.predict(x[: job["test_rows"]].astype("float32"), verbose=0)
print(time.perf_counter() - start)
"""


def timed(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MiB (this child only) and stdout of ``command``."""
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{' '.join(command[:4])}... failed:\n{result.stderr[-2000:]}")
    # The largest child so far: the training run is measured first, so it is that run's peak.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, peak / 1024, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="configs/spy.yaml")
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument("--rounds", type=int, default=1,
                        help="alternate run and reference this many times; the ratio is the "
                             "median of the rounds' (steadier on a busy machine)")
    args = parser.parse_args()

    ratios = []
    for round_ in range(args.rounds):
        with tempfile.TemporaryDirectory() as runs:
            command = [sys.executable, "-m", "tradenn", "train", args.config, "--quiet",
                       "--runs-dir", runs]
            for override in args.overrides:
                command += ["--set", override]
            wall, peak_mib, _ = timed(command)
            (run_dir,) = Path(runs).iterdir()
            spec = reference_spec(run_dir)

        ref_wall, _, out = timed([sys.executable, "-c", REFERENCE, json.dumps(spec)])
        ref_fit = float(out.strip().splitlines()[-1])
        epochs = sum(job["epochs"] for job in spec["jobs"])
        ratios.append(wall / ref_wall)
        if round_ == 0:
            print(f"config              {args.config} {' '.join(args.overrides)}")
            print(f"models / epochs     {len(spec['jobs'])} / {epochs}")
        print(f"tradenn train       {wall:7.1f} s wall   peak RSS {peak_mib:7.0f} MiB")
        print(f"bare Keras model    {ref_wall:7.1f} s wall   ({ref_fit:.1f} s in fit/predict)")
        print(f"ratio               {wall / ref_wall:7.2f}x  (tradenn run / bare Keras, same "
              f"process count, models, rows and epochs)", flush=True)
    if args.rounds > 1:
        print(f"median ratio        {statistics.median(ratios):7.2f}x  over {args.rounds} "
              f"rounds ({min(ratios):.2f}-{max(ratios):.2f})")


def reference_spec(run_dir: Path) -> dict:
    """Sizes of every model the run trained, read back from its own files."""
    import pandas as pd
    import yaml

    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    manifest = json.loads((run_dir / "manifest.json").read_text())
    history = pd.read_csv(run_dir / "history.csv")
    epochs = history.groupby(["fold", "variant", "seed"], sort=False)["epoch"].max()
    validation = config["train"]["validation_fraction"]
    folds = {f["index"]: f for f in manifest["folds"]}
    jobs = []
    for (fold, _variant, _seed), n_epochs in epochs.items():
        record = folds[int(fold)]
        rows = record["rows_train_end"] - record["rows_train_start"]
        jobs.append({
            "rows": rows,
            "val_rows": int(round(rows * validation)),
            "test_rows": record["rows_test_end"] - record["rows_test_start"],
            "epochs": int(n_epochs),
        })
    return {
        "window": config["features"]["window"],
        "features": len(config["features"]["columns"]),
        "lstm_units": config["model"]["lstm_units"] if config["model"]["kind"] == "lstm" else [],
        "dense_units": config["model"]["dense_units"],
        "batch_size": config["train"]["batch_size"],
        "jobs": jobs,
    }


if __name__ == "__main__":
    main()
