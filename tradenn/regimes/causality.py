"""Is a detector causal? The property check the test suite applies to the built-ins.

For each cut t (a row position): transforming the bars before t must give exactly the
first t rows of the full transform (``prefix``), and multiplying every price and volume
from row t on by random factors must move nothing before t (``perturbation``). A detector
that reads one bar ahead fails at the last bar before the cut; a centered window, a
smoother or a scaler fitted on the whole series fails too.

`check_causal` returns the first offending date and column (or None); `config_causality`
runs it on an experiment's detectors, each fitted on the first training window as training
does. Training refuses a plugin detector that fails (``regime.check_causal: false`` turns
that off, and the run's manifest says so).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tradenn.errors import ConfigError

PRICES = ("open", "high", "low", "close")


class LookAheadError(ConfigError):
    """A regime detector whose value at t depends on bars after t."""


@dataclass(frozen=True)
class LookAhead:
    """Where a detector first used the future."""

    detector: str  # the detector's kind
    test: str  # "prefix" or "perturbation"
    cut: pd.Timestamp  # the last bar kept (prefix) or left untouched (perturbation)
    date: pd.Timestamp  # the first date whose value changed
    column: str
    expected: float  # the full transform's value
    got: float  # the value from the prefix / perturbed bars

    def describe(self) -> str:
        how = ("transforming the bars up to" if self.test == "prefix"
               else "perturbing the bars after")
        return (f"{self.detector} regime is not causal: {how} {self.cut.date()} changes "
                f"{self.column!r} on {self.date.date()} (full series {self.expected:.6g}, "
                f"now {self.got:.6g}): a value stamped {self.date.date()} depends on later bars")


def default_cuts(n: int, count: int = 8) -> list[int]:
    """``count`` cut positions spread over the second half of ``n`` bars."""
    return sorted({int(c) for c in np.linspace(n // 2, n - 2, count)})


def perturb_after(bars: pd.DataFrame, t: int, seed: int) -> pd.DataFrame:
    """Bars with every price of rows t.. multiplied by one random factor per row (so
    open/high/low/close stay consistent) and volume by another."""
    rng = np.random.default_rng(seed)
    out = bars.copy()
    n = len(bars) - t
    prices = [c for c in PRICES if c in out.columns]
    out.iloc[t:, out.columns.get_indexer(prices)] = (
        out.iloc[t:][prices].to_numpy() * rng.uniform(0.5, 1.5, size=n)[:, None]
    )
    if "volume" in out.columns:
        column = out.columns.get_loc("volume")
        out.iloc[t:, column] = out.iloc[t:, column].to_numpy() * rng.uniform(0.5, 1.5, size=n)
    return out


def first_difference(got: pd.DataFrame, expected: pd.DataFrame, *,
                     rtol: float = 1e-12, atol: float = 1e-12) -> tuple[int, str] | None:
    """The first (row, column) where two equally shaped frames differ (NaN equals NaN)."""
    a, b = got.to_numpy("float64"), expected.to_numpy("float64")
    same = np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
    if same.all():
        return None
    rows, cols = np.nonzero(~same)
    first = int(np.argmin(rows))
    return int(rows[first]), str(expected.columns[cols[first]])


def check_causal(
    detector: Any,
    bars: pd.DataFrame,
    *,
    cuts: int | Sequence[int] = 8,
    fit_rows: int | None = None,
    seed: int = 0,
    rtol: float = 1e-12,
    atol: float = 1e-12,
) -> LookAhead | None:
    """Check that ``detector.transform`` never uses a bar after the date it stamps.

    Args:
        detector: a `RegimeDetector` or `CompositeRegime`; fitted, or fitted here on
            ``bars.iloc[:fit_rows]``.
        bars: the bars to check on (real bars: a detector may need history to fit).
        cuts: row positions t to cut at (each in 1..len(bars)-1), or how many to spread
            over the second half of ``bars``.
        fit_rows: bars to fit an unfitted detector on (default: the first half).
        seed: seeds the perturbation's random factors.
        rtol: relative tolerance of "unchanged".
        atol: absolute tolerance of "unchanged".

    Returns:
        None if every check passed, else the `LookAhead` with the earliest offending date
        (the first cut and test to show it) and its column.
    """
    if not getattr(detector, "is_fitted", True):
        detector.fit(bars.iloc[: fit_rows or len(bars) // 2])
    positions = default_cuts(len(bars), cuts) if isinstance(cuts, int) else sorted(cuts)
    if not positions or not all(0 < t < len(bars) for t in positions):
        raise ConfigError(f"check_causal cuts: expected positions in 1..{len(bars) - 1}, "
                          f"got {list(positions)}")
    full = detector.transform(bars)
    kind = str(getattr(detector, "kind", type(detector).__name__))
    found: LookAhead | None = None
    for t in positions:
        for test, frame in (
            ("prefix", lambda t=t: detector.transform(bars.iloc[:t])),
            ("perturbation", lambda t=t: detector.transform(perturb_after(bars, t, seed + t))),
        ):
            got = frame().iloc[:t]
            where = first_difference(got, full.iloc[:t], rtol=rtol, atol=atol)
            if where is None:
                continue
            row, column = where
            if found is None or bars.index[row] < found.date:
                found = LookAhead(kind, test, bars.index[t - 1], bars.index[row], column,
                                  float(full[column].iloc[row]), float(got[column].iloc[row]))
    return found


def require_causal(detector: Any, bars: pd.DataFrame, **options: Any) -> None:
    """`check_causal`, raising `LookAheadError` with the offending date and column."""
    found = check_causal(detector, bars, **options)
    if found is not None:
        raise LookAheadError(found.describe())


def config_causality(config: Any, bars: pd.DataFrame | None = None, *,
                     plugins_only: bool = False, cuts: int = 8) -> list[tuple[str, LookAhead | None]]:
    """`check_causal` on each detector of an experiment, fitted like training fits it.

    Each detector is fitted on the bars up to the end of the first training window
    (`tradenn.regimes.analysis.first_fit_window`) and checked at ``cuts`` dates after it.

    Args:
        config: an `ExperimentConfig`.
        bars: its bars (loaded from ``config.data`` when None).
        plugins_only: check only detectors registered by plugins (the built-ins are
            checked by tradenn's own tests); what training does.
        cuts: cut dates per detector.

    Returns:
        ``(label, LookAhead or None)`` per detector checked, label ``"<index>: <kind>"``.
    """
    from tradenn.data import load_bars
    from tradenn.regimes.analysis import first_fit_window, regime_source
    from tradenn.regimes.registry import BUILTIN_KINDS, build_detector, build_regime

    if bars is None:
        data = config.data
        bars = load_bars(regime_source(config), data.start, data.end,
                         provider=config.regime.provider or data.provider)
    sections = list(enumerate(config.regime.detectors))
    if plugins_only:
        sections = [(i, s) for i, s in sections if s.kind not in BUILTIN_KINDS]
    if not sections:
        return []
    _, fit_end = first_fit_window(bars, config, build_regime(config.regime))
    fit_rows = int(bars.index.get_indexer([fit_end])[0]) + 1
    positions = sorted({int(c) for c in np.linspace(fit_rows + 1, len(bars) - 1, cuts)})
    results = []
    for index, section in sections:
        detector = build_detector(section).fit(bars.iloc[:fit_rows])
        results.append((f"{index}: {section.kind}", check_causal(detector, bars, cuts=positions)))
    return results
