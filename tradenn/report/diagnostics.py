"""Why the variants perform as they do: positions, agreement, skill, and the regime's weight.

Sharpe ratios say *whether* the regime model beats its controls; these numbers say *why
they can or cannot*: variants that are long 90% of the time and agree on 97% of days can
hardly differ, a hit rate is only skill above the rate that the same share of longs would
hit by chance, and a model whose prediction does not move when its regime input is set to
the training mean has learned to ignore the regime, whatever route it was given.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from tradenn.backtest import BacktestResult
from tradenn.runs import MAIN_VARIANT, prediction_column

# Below this, a prediction moves by less than 5% of its own spread when the regime input is
# replaced by its training mean: the model practically ignores the regime.
IGNORES_REGIME_BELOW = 0.05
# Variants that take no regime at all (their sensitivity is 0 by construction).
REGIME_BLIND = ("no_regime",)


def variant_diagnostics(
    predictions: pd.DataFrame,
    positions: Mapping[str, pd.Series | BacktestResult],
    variants: list[str],
    sensitivity: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The diagnostics of every variant and of every pair of variants.

    In a pooled run every number is over all (date, asset) rows.

    Args:
        predictions: a run's ``predictions.csv``, one row per (date, asset), with a unique
            index (the date for one asset).
        positions: each variant's sized position on each row of ``predictions`` (or, for
            one asset, its backtest, whose positions are read).
        variants: the model variants, ``regime`` first.
        sensitivity: per variant, the ``theta_sensitivity`` record of the run's
            ``metrics.json`` (None for a run trained before it existed).

    Returns:
        ``{"variants": {name: {...}}, "pairs": [{...}], "findings": [sentence, ...]}``.
    """
    target = predictions["target"].astype("float64")
    folds = predictions["fold"]
    positions = {name: getattr(p, "positions", p) for name, p in positions.items()}
    per_variant = {}
    for name in variants:
        prediction = predictions[prediction_column(name)].astype("float64")
        per_variant[name] = {
            **position_shares(positions[name]),
            **hit_rates(prediction, target, positions[name]),
            **fold_ic(prediction, target, folds),
            "theta_sensitivity": _sensitivity(name, (sensitivity or {}).get(name)),
        }
    pairs = []
    for a, b in itertools.combinations(variants, 2):
        pa, pb = positions[a].to_numpy(), positions[b].to_numpy()
        xa = predictions[prediction_column(a)].astype("float64")
        xb = predictions[prediction_column(b)].astype("float64")
        pairs.append({
            "a": a, "b": b,
            "position_agreement": float((np.sign(pa) == np.sign(pb)).mean()),
            "prediction_correlation": _corr(xa, xb),
        })
    result = {"variants": per_variant, "pairs": pairs}
    result["findings"] = findings(result)
    return result


def position_shares(positions: pd.Series) -> dict[str, float]:
    """Share of days long, short and flat, and the mean net exposure (mean position)."""
    w = positions.to_numpy(dtype="float64")
    return {
        "share_long": float(np.mean(w > 0)),
        "share_short": float(np.mean(w < 0)),
        "share_flat": float(np.mean(w == 0)),
        "net_exposure": float(np.mean(w)),
    }


def hit_rates(prediction: pd.Series, target: pd.Series, positions: pd.Series) -> dict[str, float]:
    """The predicted direction's hit rate against the base rate (share of up days).

    ``hit_rate``: share of days, with a known nonzero next return and a nonzero
    prediction, whose predicted sign is the return's. ``base_rate``: share of those days
    that went up (the hit rate of always long). ``chance_hit_rate``: what a guess that is
    long as often as the model, at random, would hit: ``p·base + (1-p)·(1-base)`` with
    ``p`` the share of long predictions. Skill is ``hit_rate`` above the chance rate.
    """
    frame = pd.DataFrame({"p": prediction, "y": target}).dropna()
    frame = frame[(frame["y"] != 0) & (frame["p"] != 0)]
    if frame.empty:
        return {"hit_rate": math.nan, "base_rate": math.nan, "chance_hit_rate": math.nan,
                "hit_days": 0}
    up = float((frame["y"] > 0).mean())
    long = float((frame["p"] > 0).mean())
    return {
        "hit_rate": float((np.sign(frame["p"]) == np.sign(frame["y"])).mean()),
        "base_rate": up,
        "chance_hit_rate": long * up + (1 - long) * (1 - up),
        "hit_days": len(frame),
    }


def fold_ic(prediction: pd.Series, target: pd.Series, folds: pd.Series) -> dict[str, Any]:
    """Pearson IC within each fold, with their mean, standard deviation and t-statistic
    (``mean / (sd / √folds)``: folds as independent draws of the model's skill)."""
    by_fold = {}
    for fold, rows in folds.groupby(folds).groups.items():
        by_fold[str(int(fold))] = _corr(prediction.loc[rows], target.loc[rows])
    values = np.array([v for v in by_fold.values() if not math.isnan(v)])
    mean = float(values.mean()) if len(values) else math.nan
    sd = float(values.std(ddof=1)) if len(values) > 1 else math.nan
    t = mean / (sd / math.sqrt(len(values))) if len(values) > 1 and sd > 0 else math.nan
    return {"ic_by_fold": by_fold, "ic_mean": mean, "ic_std": sd, "ic_t": t}


def _corr(a: pd.Series, b: pd.Series) -> float:
    frame = pd.DataFrame({"a": a, "b": b}).dropna()
    if len(frame) < 3 or frame["a"].std() == 0 or frame["b"].std() == 0:
        return math.nan
    return float(frame["a"].corr(frame["b"]))


def _sensitivity(name: str, record: dict[str, Any] | None) -> dict[str, Any] | None:
    if record is None:
        return None
    relative = record.get("relative")
    return {
        "relative": relative,
        "sign_changes": record.get("sign_changes"),
        "mean_abs_shift": record.get("mean_abs_shift"),
        "by_fold": {str(k): v.get("relative") for k, v in (record.get("folds") or {}).items()},
        "ignores_regime": None if relative is None else bool(relative < IGNORES_REGIME_BELOW),
    }


def variant_name(name: str) -> str:
    return "regime model" if name == MAIN_VARIANT else name


def findings(diagnostics: dict[str, Any]) -> list[str]:
    """What the diagnostics say, in sentences, for the report."""
    out = []
    per_variant = diagnostics["variants"]
    longs = {n: d["share_long"] for n, d in per_variant.items()}
    low, high = min(longs.values()), max(longs.values())
    out.append(
        f"The variants are long on {_pct(low)}–{_pct(high)} of days"
        if len(longs) > 1 and high - low >= 0.005 else
        f"{'Every variant is' if len(longs) > 1 else 'The model is'} long on {_pct(high)} of days"
    )
    pairs = diagnostics["pairs"]
    if pairs:
        agree = [p["position_agreement"] for p in pairs]
        corr = [p["prediction_correlation"] for p in pairs if not math.isnan(p["prediction_correlation"])]
        text = f"pairs of variants take the same side on {_pct(min(agree))}–{_pct(max(agree))} of days"
        if corr:
            text += f" and their predictions correlate {min(corr):.2f}–{max(corr):.2f}"
        out[-1] += "; " + text
        if min(agree) > 0.9:
            out[-1] += (", so their returns can differ on few days and their Sharpe ratios "
                        "only by little")
    out[-1] += "."
    for name, d in per_variant.items():
        parts = []
        if not math.isnan(d["hit_rate"]):
            edge = d["hit_rate"] - d["chance_hit_rate"]
            parts.append(
                f"right on {_pct(d['hit_rate'])} of days against {_pct(d['base_rate'])} up days "
                f"and {_pct(d['chance_hit_rate'])} by chance at its share of longs "
                f"({'+' if edge >= 0 else '−'}{abs(100 * edge):.1f} points); IC per fold "
                f"{d['ic_mean']:.3f} ± {d['ic_std']:.3f} (t = {d['ic_t']:.2f})")
        s = d["theta_sensitivity"]
        if s is not None and s["relative"] is not None:
            if name in REGIME_BLIND:
                parts.append("it takes no regime, so its θ sensitivity is 0 by construction")
            else:
                moved = (f"with the regime input set to its training mean the prediction moves "
                         f"by {100 * s['relative']:.1f}% of its own spread and flips direction "
                         f"on {_pct(s['sign_changes'])} of days")
                parts.append(moved + (": it practically ignores the regime"
                                      if s["ignores_regime"] else ""))
        if parts:
            out.append(f"{variant_name(name)}: " + "; ".join(parts) + ".")
    return out


def _pct(value: float) -> str:
    return "—" if value is None or math.isnan(value) else f"{100 * value:.1f}%"
