"""A sweep's verdict: one row per trial, a ranked report, and the corrections for trying many.

``results.csv`` has the trial's grid values, then the regime model's Sharpe ratio, its
difference from each control with the bootstrap interval, its Deflated Sharpe Ratio (with
the sweep's completed trials as the trials), max drawdown, share of days long, wall time and
status. ``report.html`` ranks the trials, draws Δ Sharpe (regime − best control) over two
grid axes, gives the best trial's DSR, and the probability of backtest overfitting (CSCV,
Bailey, Borwein, López de Prado & Zhu 2015) over the trials' daily returns.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tradenn import stats
from tradenn.files import read_json, write_csv_atomic, write_text_atomic
from tradenn.report.strategies import BASELINE_LABELS, BENCHMARK
from tradenn.runs import COMPLETE

RESULTS, REPORT = "results.csv", "report.html"
MAIN = "regime"


def trial_row(record: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """One results.csv row from a trial's manifest record and its backtest.json."""
    row: dict[str, Any] = {"trial": record["id"], **record.get("grid", {})}
    row.update(status=record["status"], error=record.get("error"),
               wall_seconds=record.get("wall_seconds"))
    document = run_dir / "backtest.json"
    if record["status"] != COMPLETE or not document.is_file():
        return row
    backtest = read_json(document)
    main = backtest["strategies"][MAIN]
    row.update(sharpe=main["sharpe"], max_drawdown=main["max_drawdown"],
               share_long=_share_long(run_dir))
    for key, ci in backtest["sharpe_differences"].items():
        other = key.split(" - ", 1)[1]
        row[f"delta_sharpe_{other}"] = ci["estimate"]
        row[f"delta_sharpe_{other}_low"] = ci["low"]
        row[f"delta_sharpe_{other}_high"] = ci["high"]
    return row


def _share_long(run_dir: Path) -> float:
    daily = pd.read_csv(run_dir / "backtest_returns.csv", index_col="date")
    return float((daily[f"position_{MAIN}"] > 0).mean())


def daily_returns(sweep_path: Path, trial_ids: list[str]) -> pd.DataFrame:
    """The regime model's daily net returns of each trial, one column per trial."""
    columns = {}
    for trial in trial_ids:
        daily = pd.read_csv(sweep_path / "trials" / trial / "backtest_returns.csv",
                            index_col="date", parse_dates=["date"])
        columns[trial] = daily[f"return_{MAIN}"]
    return pd.DataFrame(columns)


def sweep_verdict(sweep_path: str | Path, *, n_partitions: int = 16) -> dict[str, Any]:
    """Write ``results.csv`` and ``report.html`` of a finished sweep; return the numbers."""
    sweep_path = Path(sweep_path)
    manifest = read_json(sweep_path / "sweep.json")
    rows = [trial_row(r, sweep_path / "trials" / r["id"]) for r in manifest["trials"]]
    results = pd.DataFrame(rows).set_index("trial")
    done = [r["id"] for r in manifest["trials"] if "sharpe" in results.columns
            and not pd.isna(results.loc[r["id"], "sharpe"])]
    summary: dict[str, Any] = {"trials": len(rows), "completed": len(done), "dsr_best": None,
                               "best": None, "pbo": None, "pbo_partitions": None}
    if done:
        returns = daily_returns(sweep_path, done)
        dsr = stats.deflated_sharpe_ratios({t: returns[t].dropna() for t in done})
        results["dsr"] = pd.Series(dsr)
        best = results.loc[done, "sharpe"].idxmax()
        summary.update(best=best, dsr_best=float(dsr[best]))
        common = returns.dropna()
        partitions = _partitions(len(common), n_partitions)
        if len(done) >= 2 and partitions:
            pbo = stats.probability_of_backtest_overfitting(common, n_partitions=partitions)
            summary.update(pbo=float(pbo.pbo), pbo_partitions=partitions,
                           pbo_rows=len(common))
    results = results.sort_values("sharpe", ascending=False, na_position="last") \
        if "sharpe" in results else results
    write_csv_atomic(sweep_path / RESULTS, results)
    from tradenn.sweeps.report import sweep_report

    write_text_atomic(sweep_path / REPORT, sweep_report(manifest, results, summary))
    return summary


def _partitions(rows: int, wanted: int) -> int | None:
    """The largest even S <= wanted with at least 2 rows per block (None if under 2)."""
    s = min(wanted, rows // 2)
    s -= s % 2
    return s if s >= 2 else None


def delta_to_best_control(results: pd.DataFrame) -> pd.Series:
    """Regime − best control: the smallest Δ Sharpe against a model control (not buy & hold,
    nor the classical baselines: they are benchmarks, not controls of the mechanism)."""
    others = {f"delta_sharpe_{name}" for name in (BENCHMARK, *BASELINE_LABELS)}
    columns = [c for c in results.columns if c.startswith("delta_sharpe_")
               and not c.endswith(("_low", "_high")) and c not in others]
    if not columns:
        return pd.Series(np.nan, index=results.index)
    return results[columns].min(axis=1)


def fmt(value: Any, digits: int = 2) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f"{value:.{digits}f}"
