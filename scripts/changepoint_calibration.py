"""How often the ``changepoint`` state fires falsely and misses planted breaks (not a test).

Usage:
    PYTHONPATH=. .venv/bin/python scripts/changepoint_calibration.py [--seeds 60] [key=value ...]

e.g. ``recent=10`` or ``kappa0=1 alpha0=2 beta0=1`` to compare with the defaults. For each
seed: 400 daily returns of 1% volatility then 100 of 2% (or 4%), the detector fitted on the
first 300 bars. Prints the share of seeds whose calm 400 bars (after the warm-up) ever
turn "changing" (false alarms; also on i.i.d. Student-t(5) returns, which a Gaussian run
model reads as breaks more often), the share of breaks never flagged within 100 bars and
the median delay of those flagged, and on the bundled SPY history (fitted on its first
2520 bars) how many times the state turns "changing" and on how many days.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tradenn.data import load_bars  # noqa: E402
from tradenn.regimes import ChangepointRegime  # noqa: E402

CALM, AFTER, FIT = 400, 100, 300


def bars_from_returns(returns: np.ndarray) -> pd.DataFrame:
    close = 100.0 * np.exp(np.concatenate([[0.0], np.cumsum(returns)]))
    index = pd.bdate_range("2001-01-02", periods=len(close), name="date")
    return pd.DataFrame({"open": close, "high": close, "low": close, "close": close,
                         "volume": 1e6}, index=index)


def states(returns: np.ndarray, params: dict) -> np.ndarray:
    bars = bars_from_returns(returns)
    regime = ChangepointRegime(**params).fit(bars.iloc[:FIT])
    return regime.transform(bars)["cp_state"].to_numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=60)
    parser.add_argument("params", nargs="*", help="detector keys, key=value (YAML values)")
    args = parser.parse_args()
    params = {k: yaml.safe_load(v) for k, v in (p.split("=", 1) for p in args.params)}
    warmup = ChangepointRegime(**params).warmup
    false_gauss, false_t5, missed, delays = [], [], {2: 0, 4: 0}, {2: [], 4: []}
    for seed in range(args.seeds):
        rng = np.random.default_rng(1000 + seed)
        calm = rng.normal(0, 0.01, CALM)
        for factor in (2, 4):
            state = states(np.concatenate([calm, rng.normal(0, 0.01 * factor, AFTER)]), params)
            after = state[CALM + 1 :] == 0  # return i is stamped at bar i + 1
            if after.any():
                delays[factor].append(int(np.argmax(after)))
            else:
                missed[factor] += 1
        false_gauss.append((state[warmup : CALM + 1] == 0).any())
        heavy = rng.standard_t(5, CALM) * 0.01 / np.sqrt(5 / 3)  # unit variance, fat tails
        false_t5.append((states(heavy, params)[warmup:] == 0).any())
    print(f"params {params or 'defaults'}, {args.seeds} seeds")
    print(f"false alarms in {CALM} calm bars: Gaussian {np.mean(false_gauss):.0%}, "
          f"Student-t(5) {np.mean(false_t5):.0%}")
    for factor in (2, 4):
        median = np.median(delays[factor]) if delays[factor] else float("nan")
        print(f"volatility x{factor}: missed {missed[factor] / args.seeds:.0%}, "
              f"median delay {median:.0f} bars")
    spy = load_bars("SPY", provider="bundled")
    state = ChangepointRegime(**params).fit(spy.iloc[:2520]).transform(spy)["cp_state"]
    changing = (state == 0).astype(int)
    turns = int((changing.diff() == 1).sum())
    years = (spy.index[-1] - spy.index[0]).days / 365.25
    print(f"SPY {spy.index[0].year}-{spy.index[-1].year}: turns 'changing' {turns} times "
          f"({turns / years:.1f} a year), {int(changing.sum())} of {len(spy)} days")


if __name__ == "__main__":
    main()
