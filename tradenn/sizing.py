"""Predictions → positions: how much of each asset to hold. Pure numpy / pandas.

A model's output is one of two kinds:

* ``"return"``: a predicted next-period return (the mean-squared-error models);
* ``"position"``: a position in [-1, 1] the model chose itself (a Sharpe-loss model's tanh
  output, or a classical baseline's signal such as time-series momentum).

Every sizing is causal: the position stamped t uses rows <= t of its inputs only.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd

from tradenn import stats
from tradenn.errors import BacktestInputError

Sizing = Literal["sign", "threshold", "proportional", "vol_target", "vol_scaled", "model"]
SIZINGS = ("sign", "threshold", "proportional", "vol_target", "vol_scaled", "model")
PredictionKind = Literal["return", "position"]
PREDICTION_KINDS = ("return", "position")

Frame = pd.Series | pd.DataFrame


def positions_from_predictions(
    predictions: Frame,
    *,
    sizing: Sizing = "sign",
    long_only: bool = False,
    threshold: float = 0.0,
    leverage: float = 1.0,
    target_vol: float = 0.15,
    vol_window: int = 21,
    prices: Frame | None = None,
    periods_per_year: float | None = None,
    kind: PredictionKind = "return",
    sigma: Frame | None = None,
) -> Frame:
    """Turn a model's outputs into positions; causal: row t uses rows <= t only.

    The arguments are those of `tradenn.config.BacktestConfig`. ``leverage`` is the largest
    absolute weight per asset for every sizing. ``x`` is the prediction:

    * ``sign``: ``leverage * sign(x)``.
    * ``threshold``: like ``sign``, but flat while ``|x| <= threshold``.
    * ``proportional``: ``leverage * clip(x / scale[t], -1, 1)`` where ``scale[t]`` is the
      root mean square of the asset's predictions dated <= t (an expanding window, so no
      future prediction sets today's size): a prediction one RMS from zero, or more, takes
      the full position.
    * ``vol_target``: ``sign(x) * min(target_vol / vol[t], leverage)`` where ``vol[t]`` is
      the annualized standard deviation of the last ``vol_window`` log returns of ``prices``
      up to t; flat until ``vol_window`` returns exist.
    * ``vol_scaled``: ``clip(s * target_vol / sigma[t], -leverage, leverage)`` with
      ``s = clip(x, -1, 1)`` for a position output and ``sign(x)`` for a predicted return;
      ``sigma[t]`` is the asset's ex-ante volatility known at t (the predictions' ``sigma``
      column); flat where it is unknown. The volatility scaling of time-series momentum
      (Moskowitz, Ooi & Pedersen 2012, "Time series momentum", JFE 104(2), eq. 5; with a
      15% target as in Lim, Zohren & Roberts 2019, "Enhancing time-series momentum
      strategies using deep neural networks").
    * ``model``: ``leverage * clip(x, -1, 1)``: the model's own position; only for
      ``kind="position"``.

    For ``kind="position"`` the first four treat the position as a signal (its sign, its
    size against the threshold ...), exactly as they treat a predicted return.
    ``long_only`` turns every short into flat. NaN predictions give flat positions, with a
    warning.

    Args:
        predictions: the model's outputs, a Series or a DataFrame (columns = assets).
        sizing: one of `SIZINGS`.
        long_only: forbid short positions.
        threshold: dead band of ``threshold`` sizing, in prediction units.
        leverage: the cap on each asset's absolute weight, above zero.
        target_vol: annualized volatility aimed at by ``vol_target`` and ``vol_scaled``.
        vol_window: returns per volatility estimate for ``vol_target``.
        prices: closes aligned to ``predictions``; required by ``vol_target``.
        periods_per_year: annualization of ``vol_target``; None infers it from the index.
        kind: ``"return"`` (predicted returns) or ``"position"`` (positions in [-1, 1]).
        sigma: annualized ex-ante volatility aligned to ``predictions``; required by
            ``vol_scaled``.

    Returns:
        Positions with the index (and columns) of ``predictions``.

    Raises:
        BacktestInputError: an unknown sizing or kind, an invalid parameter, ``vol_target``
            without aligned prices, ``vol_scaled`` without aligned sigma, or ``model``
            sizing of predicted returns.

    Example:
        >>> x = pd.Series([0.4, -2.0, 0.0])
        >>> positions_from_predictions(x, sizing="model", kind="position").tolist()
        [0.4, -1.0, 0.0]
    """
    if not isinstance(predictions, pd.Series | pd.DataFrame):
        raise BacktestInputError(
            f"predictions: expected a pandas Series or DataFrame, got {type(predictions).__name__}"
        )
    if sizing not in SIZINGS:
        raise BacktestInputError(f"sizing: expected one of {', '.join(SIZINGS)}, got {sizing!r}")
    if kind not in PREDICTION_KINDS:
        raise BacktestInputError(
            f"kind: expected one of {', '.join(PREDICTION_KINDS)}, got {kind!r}")
    if sizing == "model" and kind != "position":
        raise BacktestInputError(
            "sizing 'model' trades a position output in [-1, 1]; this run predicts returns "
            "(train.loss is not sharpe): use sign, threshold, proportional, vol_target or "
            "vol_scaled sizing")
    check_parameters(threshold=threshold, leverage=leverage, target_vol=target_vol,
                     vol_window=vol_window)
    pred = predictions.astype("float64")
    if pred.isna().to_numpy().any():
        warnings.warn(
            f"predictions: {int(pred.isna().to_numpy().sum())} NaN prediction(s); "
            "holding no position on those dates",
            UserWarning,
            stacklevel=2,
        )
    direction = np.sign(pred)
    if sizing == "sign":
        size = leverage * direction
    elif sizing == "threshold":
        size = leverage * direction.where(pred.abs() > threshold, 0.0)
    elif sizing == "proportional":
        # Expanding RMS over rows <= t (NaN rows skipped): causal by construction.
        squares = (pred**2).expanding(min_periods=1).mean()
        scale = np.sqrt(squares).replace(0.0, np.nan)
        size = leverage * (pred / scale).clip(-1.0, 1.0)
    elif sizing == "vol_target":
        vol = causal_volatility(prices, pred, vol_window, periods_per_year)
        size = direction * (target_vol / vol).clip(upper=leverage)
    elif sizing == "vol_scaled":
        vol = _ex_ante_volatility(sigma, pred)
        strength = pred.clip(-1.0, 1.0) if kind == "position" else direction
        size = (strength * target_vol / vol).clip(-leverage, leverage)
    else:  # model
        size = leverage * pred.clip(-1.0, 1.0)
    if long_only:
        size = size.clip(lower=0.0)
    return size.fillna(0.0) + 0.0  # + 0.0 turns -0.0 into 0.0


def check_parameters(**values: float) -> None:
    """Raise `BacktestInputError` for a sizing parameter out of its range."""
    rules = {"threshold": (0.0, True), "leverage": (0.0, False), "target_vol": (0.0, False),
             "vol_window": (2, True)}
    for name, value in values.items():
        low, inclusive = rules[name]
        ok = np.isfinite(value) and (value >= low if inclusive else value > low)
        if not ok:
            relation = "at least" if inclusive else "above"
            raise BacktestInputError(f"{name}: expected a number {relation} {low}, got {value!r}")


def causal_volatility(
    prices: Frame | None, predictions: Frame, window: int, periods_per_year: float | None
) -> Frame:
    """Annualized rolling volatility of log returns dated <= t, aligned to predictions."""
    if prices is None:
        raise BacktestInputError(
            "prices: vol_target sizing needs the closes aligned to the predictions, got None"
        )
    if type(prices) is not type(predictions) or not prices.index.equals(predictions.index):
        raise BacktestInputError(
            "prices: expected closes with the same dates (and columns) as the predictions "
            f"for vol_target sizing, got a {type(prices).__name__} of {len(prices)} rows for "
            f"{len(predictions)} predictions"
        )
    closes = prices.astype("float64")
    if (closes <= 0).to_numpy().any():
        raise BacktestInputError("prices: expected closes above zero for vol_target sizing")
    ppy = periods_per_year or stats.periods_per_year(closes.index)
    log_returns = np.log(closes).diff()
    vol = log_returns.rolling(window, min_periods=window).std() * np.sqrt(ppy)
    return vol.replace(0.0, np.nan)


def _ex_ante_volatility(sigma: Frame | None, predictions: Frame) -> Frame:
    """The ``sigma`` of `vol_scaled` sizing, checked; zero (no estimate yet) becomes NaN."""
    if sigma is None:
        raise BacktestInputError(
            "sigma: vol_scaled sizing needs each asset's ex-ante volatility (the sigma column "
            "of predictions.csv), got none; a run written before that column existed must "
            "be trained again")
    same_shape = type(sigma) is type(predictions) and sigma.index.equals(predictions.index) and (
        isinstance(sigma, pd.Series) or list(sigma.columns) == list(predictions.columns))
    if not same_shape:
        raise BacktestInputError(
            "sigma: expected volatilities with the same dates (and columns) as the "
            f"predictions for vol_scaled sizing, got a {type(sigma).__name__} of {len(sigma)} "
            f"rows for {len(predictions)} predictions")
    try:
        vol = sigma.astype("float64")
    except (TypeError, ValueError) as exc:
        raise BacktestInputError(f"sigma: expected numbers, got {exc}") from None
    if (vol < 0).to_numpy().any() or np.isinf(vol.to_numpy()).any():
        raise BacktestInputError("sigma: expected finite volatilities of at least 0 for "
                                 "vol_scaled sizing")
    return vol.where(vol > 0)
