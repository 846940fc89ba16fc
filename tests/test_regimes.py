"""Regime detectors: registry, config, the values each detector computes, composite rules."""

from __future__ import annotations

import functools
import json
import pickle
from typing import get_args

import numpy as np
import pandas as pd
import pytest

from tradenn.config import DetectorConfig, RegimeConfig, RegimeKind
from tradenn.data import load_bars
from tradenn.errors import ConfigError, DataError
from tradenn.regimes import (
    REGIMES,
    CompositeRegime,
    HmmRegime,
    MarkovRegime,
    NotFittedError,
    TrendRegime,
    VixRegime,
    VolatilityRegime,
    build_detector,
    build_regime,
)


@functools.cache
def spy() -> pd.DataFrame:
    return load_bars("SPY", provider="bundled")


@functools.cache
def vix_closes() -> pd.Series:
    return VixRegime().series()


def config_kinds() -> set[str]:
    members = get_args(get_args(DetectorConfig)[0])
    return {get_args(m.model_fields["kind"].annotation)[0] for m in members}


# ----------------------------------------------------------------------- registry and config


def test_registry_matches_the_config_kinds():
    assert set(REGIMES) == config_kinds() == set(get_args(RegimeKind))
    for kind, cls in REGIMES.items():
        assert cls.kind == kind
        assert cls.config_class.model_fields["kind"].default == kind


@pytest.mark.parametrize("kind", sorted(REGIMES))
def test_build_detector_from_each_config_section(kind):
    config = RegimeConfig.model_validate({"detectors": [{"kind": kind}]})
    detector = build_detector(config.detectors[0])
    assert isinstance(detector, REGIMES[kind])
    assert detector.config == config.detectors[0]
    assert set(detector.model_columns) <= set(detector.columns)
    assert all(c.startswith(detector.prefix + "_") for c in detector.columns)
    if detector.state_column:
        assert detector.state_column in detector.columns


def test_default_regime_is_realized_volatility():
    regime = build_regime(RegimeConfig())
    assert regime.model_columns == ["vol_z"]
    assert regime.state_column is None


def test_bad_parameters_are_config_errors():
    with pytest.raises(
        ConfigError, match=r"volatility regime: levels must be 0 \(no levels\) or at least 2"
    ):
        VolatilityRegime(levels=1)
    with pytest.raises(
        ConfigError, match=r"trend regime: .*fast \(200\) must be shorter than slow \(50\)"
    ):
        TrendRegime(fast=200, slow=50)
    with pytest.raises(ConfigError, match=r"hmm regime: n_stats: unknown key"):
        HmmRegime(n_stats=3)


def test_transform_before_fit_is_an_error():
    with pytest.raises(
        NotFittedError, match=r"hmm regime: call fit\(training bars\) before transform"
    ):
        HmmRegime().transform(spy())


@pytest.mark.parametrize(
    "bars, message",
    [
        (pd.Series([1.0, 2.0]), r"expected a bars DataFrame, got Series"),
        (pd.DataFrame({"close": [1.0, 2.0]}), r"expected a DatetimeIndex of dates, got RangeIndex"),
        (
            pd.DataFrame({"open": [1.0]}, index=pd.to_datetime(["2020-01-02"])),
            r"expected a 'close' column",
        ),
    ],
)
def test_bad_bars_are_data_errors(bars, message):
    with pytest.raises(DataError, match=message):
        VolatilityRegime().fit(bars)


@pytest.mark.parametrize(
    "detector, rows, message",
    [
        (
            VolatilityRegime(window=21),
            21,
            r"expected at least 2 bars with a value after warm-up to fit on, got 0 of 21",
        ),
        (HmmRegime(n_states=2), 90, r"expected at least 100 bars .* got 69 of 90"),
        (MarkovRegime(), 50, r"expected at least 100 bars .* got 49 of 50"),
    ],
)
def test_too_short_training_window_is_a_data_error(detector, rows, message):
    with pytest.raises(DataError, match=message):
        detector.fit(spy().iloc[:rows])


# ----------------------------------------------------------------------- volatility


def test_volatility_values_by_hand():
    bars = spy().iloc[:1500]
    regime = VolatilityRegime(window=21, min_history=252, levels=3).fit(bars.iloc[:1000])
    frame = regime.transform(bars)
    log_ret = np.diff(np.log(bars["close"].to_numpy()))
    vol = np.full(len(bars), np.nan)
    for i in range(21, len(bars)):
        vol[i] = log_ret[i - 21 : i].std(ddof=1) * np.sqrt(252)
    np.testing.assert_allclose(frame["vol_annual"], vol, rtol=1e-10)
    t = 1234
    history = np.log(vol[21 : t + 1])
    assert frame["vol_z"].iloc[t] == pytest.approx(
        (history[-1] - history.mean()) / history.std(ddof=1), rel=1e-9
    )
    assert frame["vol_pct"].iloc[t] == pytest.approx((vol[21 : t + 1] <= vol[t]).mean(), rel=1e-12)
    # NaN through the warm-up, defined right after it.
    assert frame["vol_z"].first_valid_index() == bars.index[regime.warmup]
    assert frame["vol_pct"].first_valid_index() == bars.index[regime.warmup]


def test_volatility_levels_are_training_terciles():
    bars = spy().iloc[:3000]
    regime = VolatilityRegime(levels=3).fit(bars.iloc[:2000])
    train_vol = regime.transform(bars.iloc[:2000])["vol_annual"].dropna()
    np.testing.assert_allclose(regime.thresholds, train_vol.quantile([1 / 3, 2 / 3]), rtol=1e-12)
    levels = regime.transform(bars)["vol_level"]
    shares = levels.iloc[:2000].value_counts(normalize=True).sort_index()
    np.testing.assert_allclose(shares, [1 / 3] * 3, atol=2e-3)
    assert levels.iloc[:21].isna().all() and set(levels.dropna().unique()) == {0.0, 1.0, 2.0}
    expected = np.searchsorted(
        regime.thresholds, regime.transform(bars)["vol_annual"].iloc[2500], side="right"
    )
    assert levels.iloc[2500] == expected


# ----------------------------------------------------------------------- trend


def synthetic_bars(log_close: np.ndarray) -> pd.DataFrame:
    close = np.exp(log_close)
    index = pd.bdate_range("2001-01-01", periods=len(close), name="date")
    return pd.DataFrame(
        {"open": close, "high": close, "low": close, "close": close, "volume": 1.0}, index=index
    )


def test_trend_values_by_hand():
    bars = spy().iloc[:2000]
    regime = TrendRegime(fast=50, slow=200, slope_window=21).fit(bars.iloc[:1000])
    frame = regime.transform(bars)
    close = bars["close"].to_numpy()
    t = 1700
    slow_now = close[t - 199 : t + 1].mean()
    slow_before = close[t - 21 - 199 : t - 21 + 1].mean()
    assert frame["trend_slow"].iloc[t] == pytest.approx(np.log(close[t] / slow_now), rel=1e-9)
    assert frame["trend_fast"].iloc[t] == pytest.approx(
        np.log(close[t] / close[t - 49 : t + 1].mean()), rel=1e-9
    )
    assert frame["trend_slope"].iloc[t] == pytest.approx(
        np.log(slow_now / slow_before) * 252 / 21, rel=1e-8
    )
    train = frame.iloc[:1000]
    assert train["trend_slow_z"].mean() == pytest.approx(0, abs=1e-9)
    assert train["trend_slope_z"].std(ddof=0) == pytest.approx(1, abs=1e-9)  # population std
    assert frame["trend_state"].first_valid_index() == bars.index[regime.warmup]


def test_trend_states_on_made_up_paths():
    n = 400
    up = synthetic_bars(np.linspace(0, 1, n))
    down = synthetic_bars(np.linspace(1, 0, n))
    regime = TrendRegime(fast=20, slow=100, slope_window=10)
    assert set(regime.fit(up).transform(up)["trend_state"].dropna()) == {2.0}
    assert set(regime.fit(down).transform(down)["trend_state"].dropna()) == {0.0}
    # A band wider than the averages' spread makes everything flat.
    wide = TrendRegime(fast=20, slow=100, slope_window=10, flat_band=1.0).fit(up)
    assert set(wide.transform(up)["trend_state"].dropna()) == {1.0}
    assert regime.state_labels() == {0: "down", 1: "flat", 2: "up"}


# ----------------------------------------------------------------------- vix


@functools.cache
def vix_frame() -> tuple[VixRegime, pd.DataFrame]:
    bars = spy()
    regime = VixRegime(series=vix_closes(), lag=0).fit(bars.loc[:"2005-12-31"])  # same-day
    return regime, regime.transform(bars)


def test_vix_matches_cboe_spot_checks():
    _, frame = vix_frame()
    assert frame.loc["2008-10-10", "vix_level"] == 69.95
    assert frame.loc["2020-03-16", "vix_level"] == 82.69
    assert frame.loc["2021-12-31", "vix_level"] == 17.22
    assert (frame["vix_age"] == 0).mean() > 0.999


@pytest.mark.parametrize(
    "missing, previous", [("1997-01-31", "1997-01-30"), ("1999-12-31", "1999-12-30")]
)
def test_vix_missing_session_carries_the_previous_close_until_stale(missing, previous):
    bars = spy()
    _, frame = vix_frame()
    closes = vix_closes()
    assert pd.Timestamp(missing) not in closes.index
    assert frame.loc[missing, "vix_level"] == closes.loc[previous]
    assert frame.loc[missing, "vix_age"] == 1
    strict = VixRegime(series=closes, max_stale_days=0, lag=0).fit(bars.loc[:"2005-12-31"]).transform(bars)
    assert np.isnan(strict.loc[missing, "vix_level"]) and np.isnan(strict.loc[missing, "vix_z"])
    assert strict["vix_level"].isna().sum() == 3  # SPY's bundled history misses 3 of CBOE's gaps


def test_vix_after_its_last_close_goes_stale():
    bars = spy().loc["2019-01-01":"2019-03-29"]
    closes = vix_closes().loc[:"2019-02-28"]  # Thursday
    frame = VixRegime(series=closes, max_stale_days=4, min_history=10, lag=0).fit(bars).transform(bars)
    assert frame.loc["2019-03-01", "vix_level"] == closes.iloc[-1]  # Friday: 1 day old
    assert frame.loc["2019-03-04", "vix_level"] == closes.iloc[-1]  # Monday: 4 days old
    assert frame.loc["2019-03-05":, "vix_level"].isna().all()  # 5 days and more
    assert frame.loc["2019-03-05", "vix_age"] == 5


def test_vix_lag_and_percentile_by_hand():
    bars = spy()
    closes = vix_closes()
    lagged = VixRegime(series=closes, lag=1).fit(bars.loc[:"2005-12-31"]).transform(bars)
    position = closes.index.get_loc(pd.Timestamp("2008-10-10"))
    assert lagged.loc["2008-10-10", "vix_level"] == closes.iloc[position - 1]
    # Its age counts from the close used: Thursday's for Friday, Friday's for Monday.
    assert lagged.loc["2008-10-10", "vix_age"] == 1
    assert lagged.loc["2008-10-13", "vix_age"] == 3
    _, frame = vix_frame()
    history = closes.loc[:"2008-10-10"].to_numpy()
    x = history[-1]
    average_rank = (history < x).sum() + ((history == x).sum() + 1) / 2
    assert frame.loc["2008-10-10", "vix_pct"] == pytest.approx(
        average_rank / len(history), rel=1e-12
    )


def test_vix_z_uses_the_training_window_only():
    regime, frame = vix_frame()
    train_logs = np.log(frame.loc[:"2005-12-31", "vix_level"].dropna())
    scaler = regime.to_dict()["fitted"]["scaler"]
    assert scaler["columns"] == ["log_level"]
    assert scaler["mean"][0] == pytest.approx(train_logs.mean(), rel=1e-12)
    assert scaler["std"][0] == pytest.approx(train_logs.std(ddof=0), rel=1e-12)
    assert np.log(frame["vix_level"]).mean() != pytest.approx(train_logs.mean(), rel=1e-3)


def test_vix_bad_series_is_a_data_error():
    with pytest.raises(DataError, match=r"vix series: expected positive closes"):
        VixRegime(series=pd.Series([1.0, -2.0], index=pd.to_datetime(["2020-01-02", "2020-01-03"])))
    with pytest.raises(DataError, match=r"cannot load ticker 'NOPE'"):
        VixRegime(source="NOPE", provider="bundled").fit(spy())


# ----------------------------------------------------------------------- composite


def test_composite_honours_columns_and_state():
    config = RegimeConfig.model_validate(
        {
            "detectors": [{"kind": "volatility", "levels": 3}, {"kind": "trend"}],
            "columns": ["trend_slope_z", "vol_pct"],
            "state": "trend_state",
        }
    )
    regime = build_regime(config)
    frame = regime.fit(spy().iloc[:3000]).transform(spy())
    assert (
        list(frame.columns)
        == regime.columns
        == [*VolatilityRegime(levels=3).columns, *TrendRegime().columns]
    )
    assert regime.model_columns == ["trend_slope_z", "vol_pct"]
    assert regime.state_column == "trend_state"
    assert regime.state_labels()[2] == "up"
    assert regime.warmup == max(21 + 252 - 1, 200 + 21 - 1)
    # Without `state`, the first detector that has one.
    assert build_regime(config.model_copy(update={"state": None})).state_column == "vol_level"


def test_unknown_columns_name_the_key_and_list_the_choices():
    config = RegimeConfig.model_validate(
        {"detectors": [{"kind": "hmm", "n_states": 3}], "columns": ["hmm_p3"]}
    )
    with pytest.raises(
        ConfigError,
        match=r"regime.columns: unknown column\(s\) \['hmm_p3'\]; the detectors produce \['hmm_p0', 'hmm_p1', 'hmm_p2', 'hmm_state'\]",
    ):
        build_regime(config)


def test_unknown_state_names_the_key():
    config = RegimeConfig.model_validate({"detectors": [{"kind": "volatility"}], "state": "vol_z"})
    with pytest.raises(
        ConfigError, match=r"regime.state: 'vol_z' is not a state column; available: none"
    ):
        build_regime(config)


def test_colliding_detectors_need_a_prefix():
    twice = {"detectors": [{"kind": "volatility"}, {"kind": "volatility", "window": 63}]}
    with pytest.raises(
        ConfigError, match=r"regime.detectors: detectors 0 and 1 both produce column 'vol_annual'"
    ):
        build_regime(RegimeConfig.model_validate(twice))
    twice["detectors"][1]["prefix"] = "vol63"
    regime = build_regime(RegimeConfig.model_validate(twice))
    assert regime.model_columns == ["vol_z", "vol63_z"]


# ----------------------------------------------------------------------- scale, records


@functools.cache
def everything() -> tuple[CompositeRegime, pd.DataFrame]:
    detectors = [
        VolatilityRegime(levels=4),
        TrendRegime(),
        VixRegime(series=vix_closes()),
        HmmRegime(n_states=3),
        MarkovRegime(),
    ]
    regime = CompositeRegime(detectors).fit(spy().iloc[:2520])
    return regime, regime.transform(spy())


def test_model_columns_are_on_a_model_scale():
    regime, frame = everything()
    model = frame[regime.model_columns].iloc[regime.warmup :]
    assert model.notna().all().all()
    assert model.abs().max().max() < 10  # z-scores, percentiles, probabilities: no raw levels
    for prefix in ("hmm", "markov"):
        probs = frame.filter(regex=rf"^{prefix}_p\d").iloc[regime.warmup :]
        assert probs.min().min() >= 0 and probs.max().max() <= 1
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)
    for state in ("vol_level", "trend_state", "hmm_state", "markov_state"):
        values = frame[state].dropna()
        assert (values == values.round()).all() and values.min() == 0


def test_fitted_state_round_trips_through_json_and_pickle():
    regime, frame = everything()
    record = json.loads(json.dumps(regime.to_dict(), allow_nan=False))
    restored = CompositeRegime.from_dict(record)
    pd.testing.assert_frame_equal(restored.transform(spy()), frame, check_exact=False, rtol=1e-12)
    unpickled = pickle.loads(pickle.dumps(regime))
    pd.testing.assert_frame_equal(unpickled.transform(spy()), frame)
    assert (
        restored.model_columns == regime.model_columns
        and restored.state_column == regime.state_column
    )
    assert restored.to_dict() == record
