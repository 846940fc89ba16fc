"""Wall time of parallel work against the same work done serially, in one invocation.

Usage:
    .venv/bin/python scripts/bench_parallel.py [--config configs/spy.yaml] [--set k=v ...]
                                               [--spec configs/sweeps/demo.yaml] [--trials 8]
                                               [--skip-run] [--skip-sweep]

1. ``tradenn train CONFIG`` with ``train.workers=1`` and then ``train.workers=2``, each in
   a subprocess; the ratio says how much the run's fold × variant × seed models gain from
   two Ray workers. The two runs' predictions are also compared (they must be identical).
2. A sweep of ``--trials`` trials (the spec's grid, extended with seeds if needed) with
   ``--max-concurrent 1`` (serially, in-process) and then ``--max-concurrent 2`` (two Ray
   tasks at a time).

Each pair runs back to back on the same machine, so the ratio is what to read, not the
seconds (the machine may be shared).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{result.stderr[-2000:]}")
    return time.perf_counter() - start


def bench_run(config: str, overrides: list[str], tmp: Path) -> None:
    import pandas as pd

    sets = [arg for o in overrides for arg in ("--set", o)]
    seconds, predictions = {}, {}
    for workers in (1, 2):
        out = tmp / f"runs{workers}"
        seconds[workers] = timed([sys.executable, "-m", "tradenn", "train", config, "--quiet",
                                  "--runs-dir", str(out), *sets, "--set",
                                  f"train.workers={workers}"])
        (run,) = out.iterdir()
        predictions[workers] = pd.read_csv(run / "predictions.csv")
    identical = predictions[1].equals(predictions[2])
    print(f"run {config}: workers 1 {seconds[1]:.0f} s, workers 2 {seconds[2]:.0f} s, "
          f"speed-up {seconds[1] / seconds[2]:.2f}x; predictions identical: {identical}")


def bench_sweep(spec_path: str, trials: int, tmp: Path) -> None:
    spec = yaml.safe_load(Path(spec_path).read_text())
    count = 1
    for values in spec["grid"].values():
        count *= len(values)
    if count < trials:  # more trials: repeat the grid over seeds
        spec["grid"]["train.seeds"] = [[s] for s in range(-(-trials // count))]
    spec["base"] = str((ROOT / spec["base"]).resolve())
    path = tmp / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    seconds = {}
    for concurrent in (1, 2):
        seconds[concurrent] = timed([sys.executable, "-m", "tradenn", "sweep", str(path),
                                     "--quiet", "--sweeps-dir", str(tmp / f"sw{concurrent}"),
                                     "--max-concurrent", str(concurrent)])
    n = count if count >= trials else count * -(-trials // count)
    print(f"sweep {spec_path} ({n} trials): max-concurrent 1 {seconds[1]:.0f} s, "
          f"2 {seconds[2]:.0f} s, speed-up {seconds[1] / seconds[2]:.2f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="configs/spy.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--spec", default="configs/sweeps/demo.yaml")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--skip-run", action="store_true")
    parser.add_argument("--skip-sweep", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_run:
            bench_run(args.config, args.overrides, Path(tmp))
        if not args.skip_sweep:
            bench_sweep(args.spec, args.trials, Path(tmp))


if __name__ == "__main__":
    main()
