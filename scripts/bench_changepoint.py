"""Time the ``changepoint`` regime on the bundled SPY history (not a test).

Usage:
    PYTHONPATH=. .venv/bin/python scripts/bench_changepoint.py [--repeats 5] [--max-run-length 500]

Fits the detector on the first 2520 bars (ten years), then times ``transform`` of the whole
history (every bar since 1993) and prints the best of ``--repeats`` runs in seconds, with
the number of bars and the run lengths tracked.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tradenn.data import load_bars  # noqa: E402
from tradenn.regimes import ChangepointRegime  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--max-run-length", type=int, default=500)
    args = parser.parse_args()
    bars = load_bars("SPY", provider="bundled")
    regime = ChangepointRegime(max_run_length=args.max_run_length).fit(bars.iloc[:2520])
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        frame = regime.transform(bars)
        times.append(time.perf_counter() - start)
    print(f"changepoint transform: {len(bars)} bars ({bars.index[0].date()} to "
          f"{bars.index[-1].date()}), max_run_length {args.max_run_length}: "
          f"best {min(times):.3f} s, median {sorted(times)[len(times) // 2]:.3f} s "
          f"of {args.repeats}; {int(frame['cp_state'].eq(0).sum())} bars 'changing'")


if __name__ == "__main__":
    main()
