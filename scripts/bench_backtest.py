"""Time tradenn's backtest engine against vectorbt's ``Portfolio.from_orders`` (not a test).

Two shapes: 1,000,000 bars x 1 asset and 10,000 bars x 100 assets, random-walk prices and
random target weights, backtested by both engines with the same positions (vectorbt:
``size_type="targetpercent"``, orders at every close, shorting allowed, one shared cash
pool for the 100 assets). Both then return per-bar net portfolio returns, which are
compared:

* zero costs: the conventions coincide exactly, the returns must agree to 1e-6;
* fees as a fraction of traded value: tradenn charges ``cost * |w[t] - w[t-1]|`` of the
  previous close's equity, vectorbt the fee on the shares it actually trades (after the
  weights drifted with prices, so a short or a multi-asset book is re-traded every bar)
  out of the current equity; the gap is second order, about ``cost * r`` per bar, and is
  printed, not asserted. Long/flat weights of one asset do not drift, so there the two
  conventions are closest.

vectorbt is not a tradenn dependency; install it in a separate environment:

    python3 -m venv /tmp/benchvenv && /tmp/benchvenv/bin/pip install vectorbt
    /tmp/benchvenv/bin/python scripts/bench_backtest.py

(the script puts the repository on ``sys.path``, so tradenn need not be installed there).
Without vectorbt it times tradenn alone.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tradenn.backtest import run_backtest  # noqa: E402

try:
    import vectorbt as vbt
except ImportError:  # the benchmark still times tradenn
    vbt = None


def make_inputs(bars: int, assets: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    index = pd.date_range("2000-01-03", periods=bars, freq="min", name="date")
    columns = [f"A{i}" for i in range(assets)]
    prices = 100 * np.exp(np.cumsum(rng.normal(0, 0.001, (bars, assets)), axis=0))
    # Weights change on ~10% of bars; the gross exposure stays at or below 1.
    weights = rng.choice([-1.0, -0.5, 0.0, 0.5, 1.0], (bars, assets)) / assets
    keep = rng.random((bars, assets)) > 0.1
    keep[0] = False
    weights = pd.DataFrame(weights, index=index, columns=columns).mask(keep).ffill()
    return pd.DataFrame(prices, index=index, columns=columns), weights


def best_of(repeats: int, fn):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def tradenn_returns(prices: pd.DataFrame, weights: pd.DataFrame, fee: float) -> np.ndarray:
    if prices.shape[1] == 1:  # one asset: the Series path, as a user would call it
        prices, weights = prices.iloc[:, 0], weights.iloc[:, 0]
    result = run_backtest(prices, weights, cost_bps=fee * 1e4, periods_per_year=252)
    return result.returns.to_numpy()


def vectorbt_returns(prices: pd.DataFrame, weights: pd.DataFrame, fee: float) -> np.ndarray:
    portfolio = vbt.Portfolio.from_orders(
        prices, weights, size_type="targetpercent", direction="both", fees=fee,
        init_cash=1e9, cash_sharing=True, group_by=True, call_seq="auto", freq="1min",
    )
    return np.asarray(portfolio.returns()).ravel()


def bench(bars: int, assets: int, repeats: int) -> None:
    prices, weights = make_inputs(bars, assets)
    long_flat = (weights > 0).astype(float) / assets
    print(f"\n{bars:,} bars x {assets} asset(s)")
    cases = [("long/short, no fees ", weights, 0.0), ("long/short, 1 bp fee", weights, 1e-4),
             ("long/flat, 1 bp fee ", long_flat, 1e-4)]
    for name, positions, fee in cases:
        ours_time, ours = best_of(repeats, lambda p=positions, f=fee: tradenn_returns(prices, p, f))
        line = f"  {name}: tradenn {ours_time * 1e3:7.1f} ms"
        if vbt is None:
            print(line)
            continue
        vbt_time, theirs = best_of(
            repeats, lambda p=positions, f=fee: vectorbt_returns(prices, p, f))
        gap = float(np.max(np.abs(ours - theirs)))
        line += (f" | vectorbt {vbt_time * 1e3:7.1f} ms | vectorbt / tradenn "
                 f"{vbt_time / ours_time:5.1f}x | max |return gap| {gap:.1e}")
        if fee == 0.0:
            line += " (same convention: must be < 1e-6) " + ("OK" if gap < 1e-6 else "MISMATCH")
        print(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="tradenn backtest vs vectorbt")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs")
    args = parser.parse_args(argv)
    if vbt is None:
        print("vectorbt not installed: timing tradenn only. For the comparison:\n"
              "  python3 -m venv /tmp/benchvenv && /tmp/benchvenv/bin/pip install vectorbt\n"
              "  /tmp/benchvenv/bin/python scripts/bench_backtest.py")
    else:
        print(f"vectorbt {vbt.__version__}, numpy {np.__version__}, pandas {pd.__version__}")
        # Compile vectorbt's numba kernels before timing anything.
        warm_prices, warm_weights = make_inputs(100, 2)
        vectorbt_returns(warm_prices, warm_weights, 1e-4)
        vectorbt_returns(warm_prices.iloc[:, :1], warm_weights.iloc[:, :1], 1e-4)
    bench(1_000_000, 1, args.repeats)
    bench(10_000, 100, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
