"""One Markdown table of several backtested runs: per run and variant, the answer in numbers.

Usage:
    .venv/bin/python scripts/answer_table.py RUN_DIR [RUN_DIR ...]

Reads each run's ``backtest.json`` (``tradenn train --backtest`` or ``tradenn backtest``
writes it) and prints, per ticker and variant: Sharpe ratio with its bootstrap 95% CI, the
Sharpe difference regime − variant with its paired bootstrap CI, the deflated Sharpe ratio
when the run's ``backtest.json`` has one, the share of days long, and θ sensitivity.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ORDER = ["regime", "no_regime", "shuffled_regime", "regime_input", "film", "buy_and_hold"]


def _num(value: float | None, spec: str = ".2f") -> str:
    if value is None:
        return "—"
    text = format(value, spec)
    return text.replace("-", "−")


def _interval(ci: dict | None) -> str:
    if not ci or ci.get("low") is None:
        return "—"
    return f"[{_num(ci['low'])}, {_num(ci['high'])}]"


def rows(run_dir: Path) -> list[list[str]]:
    document = json.loads((run_dir / "backtest.json").read_text())
    ticker = document["run"]["data"]["source"]
    strategies = document["strategies"]
    diagnostics = (document.get("diagnostics") or {}).get("variants", {})
    differences = document["sharpe_differences"]
    names = [n for n in ORDER if n in strategies] + [n for n in strategies if n not in ORDER]
    out = []
    for name in names:
        row = strategies[name]
        d = diagnostics.get(name, {})
        diff = differences.get(f"regime - {name}")
        delta = "—" if diff is None else f"{_num(diff['estimate'])} {_interval(diff)}"
        sensitivity = (d.get("theta_sensitivity") or {}).get("relative")
        long = d.get("share_long", 1.0 if name == "buy_and_hold" else None)
        dsr = row.get("dsr", row.get("deflated_sharpe"))
        out.append([
            ticker, "buy & hold" if name == "buy_and_hold" else name,
            f"{_num(row['sharpe'])} {_interval(row.get('sharpe_ci'))}", delta,
            _num(dsr), _num(long, ".0%"), _num(sensitivity, ".1%"),
        ])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    args = parser.parse_args()
    header = ["ticker", "variant", "Sharpe [95% CI]", "Δ Sharpe regime − variant [95% CI]",
              "DSR", "long", "θ sensitivity"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for run_dir in args.runs:
        for row in rows(run_dir):
            print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
