"""Pooled runs: several assets, one model per fold, each asset scaled on its own rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradenn.config import ExperimentConfig, asset_name, load_config, validate_config
from tradenn.data import load_bars
from tradenn.errors import ConfigError
from tradenn.walkforward import (
    MIN_POOLED_FIT_ROWS,
    Arrays,
    Panel,
    asset_fold,
    make_folds,
    pooled_fold_arrays,
)

TINY = Path(__file__).parent / "fixtures" / "tiny.yaml"
CONFIG = ExperimentConfig.model_validate(
    {"data": {"start": "2008-01-01", "end": "2014-12-31"}, "features": {"window": 5},
     "walk_forward": {"min_train": 750, "test_size": 250}})


# ----------------------------------------------------------------------------- config


def test_a_list_of_sources_is_a_pooled_config_and_assets_are_named_by_ticker_or_stem():
    config = validate_config({"data": {"source": ["SPY", "data/adjusted/GLD.csv"]}})
    assert config.data.pooled and config.data.sources == ["SPY", "data/adjusted/GLD.csv"]
    assert [asset_name(s) for s in config.data.sources] == ["SPY", "GLD"]
    assert asset_name("BRK.B") == "BRK.B"  # a ticker with a dot is not a file
    assert not validate_config({}).data.pooled


def test_two_sources_with_one_name_are_a_config_error():
    with pytest.raises(ConfigError, match=r"data: source names \['SPY'\] more than once"):
        validate_config({"data": {"source": ["SPY", "elsewhere/SPY.csv"]}})
    with pytest.raises(ConfigError, match="data.source"):
        validate_config({"data": {"source": []}})


def test_the_sharpe_loss_trades_its_output_unless_told_otherwise():
    assert validate_config({"train": {"loss": "sharpe"}}).backtest.sizing == "model"
    chosen = validate_config({"train": {"loss": "sharpe"}, "backtest": {"sizing": "vol_scaled"}})
    assert chosen.backtest.sizing == "vol_scaled"
    assert validate_config({}).backtest.sizing == "sign"
    with pytest.raises(ConfigError, match="backtest.sizing 'model'.*needs train.loss: sharpe"):
        validate_config({"backtest": {"sizing": "model"}})
    with pytest.raises(ConfigError, match="turnover_penalty applies to train.loss: sharpe"):
        validate_config({"train": {"turnover_penalty": 0.1}})


# ----------------------------------------------------------------------------- fold arrays


def _panel(bars: pd.DataFrame) -> tuple[Panel, pd.DataFrame]:
    panel = Panel.from_bars(bars, CONFIG)
    regime = pd.DataFrame({"r": np.log(bars["close"]).diff().rolling(10).std()},
                          index=bars.index)
    return panel, regime


@pytest.fixture(scope="module")
def assets():
    """SPY whole; GLD starting two years late and missing ten days in a row."""
    spy = load_bars("SPY", "2008-01-01", "2014-12-31", provider="bundled")
    gld = load_bars("GLD", "2010-01-01", "2014-12-31", provider="bundled")
    gap = gld.index[(gld.index >= "2012-03-01") & (gld.index < "2012-03-15")]
    gld = gld.drop(gap)
    return {"SPY": _panel(spy), "GLD": _panel(gld)}, gap


def _pooled(panels: dict, names: list[str]):
    chosen = [panels[n] for n in names]
    dates = chosen[0][0].dates
    for panel, _ in chosen[1:]:
        dates = dates.union(panel.dates)
    folds = make_folds(len(dates), CONFIG.walk_forward)
    out = []
    for fold in folds:
        local = [asset_fold(fold, dates, p, purge=1) for p, _ in chosen]
        out.append(pooled_fold_arrays([p for p, _ in chosen], [r for _, r in chosen], local,
                                      validation_fraction=0.2))
    return out


def _rows_of(arrays: Arrays, code: int) -> Arrays:
    return arrays.subset(arrays.asset == code)


def test_a_late_asset_with_a_gap_costs_only_its_own_rows(assets):
    panels, gap = assets
    alone = _pooled(panels, ["SPY"])
    both = _pooled(panels, ["SPY", "GLD"])
    assert len(alone) == len(both)  # GLD's dates are SPY's: the folds are the same
    for a, b in zip(alone, both, strict=True):
        spy = b.assets.index(0)
        for part in ("fit", "validation", "test"):
            mine, pooled = getattr(a, part), _rows_of(getattr(b, part), spy)
            assert mine.dates.equals(pooled.dates), part
            np.testing.assert_array_equal(mine.window, pooled.window)
            np.testing.assert_array_equal(mine.target, pooled.target)
    # GLD sits out the first fold (under a year of rows to fit), then joins.
    assert both[0].assets == [0]
    joined = [b for b in both if 1 in b.assets]
    assert joined
    for index, b in enumerate(both):
        if 1 in b.assets:
            assert len(b.fit) > len(alone[index].fit)
    gld_dates = pd.DatetimeIndex(np.concatenate(
        [_rows_of(getattr(b, p), b.assets.index(1)).dates.to_numpy()
         for b in joined for p in ("fit", "validation", "test")]))
    assert gld_dates.min() >= pd.Timestamp("2010-01-01")
    assert not gld_dates.isin(gap).any()  # the missing days are missing, nothing invented


def test_each_asset_is_scaled_on_its_own_training_rows_only(assets):
    panels, _ = assets
    fold = next(b for b in _pooled(panels, ["SPY", "GLD"]) if 1 in b.assets)
    for code, position in enumerate(fold.assets):
        panel = list(panels.values())[position][0]
        fit, validation = _rows_of(fold.fit, code), _rows_of(fold.validation, code)
        rows = panel.features.index.get_indexer(fit.dates.append(validation.dates))
        scaler = fold.scalers[code].features
        # Fit and validation rows (and the gap between them) are the asset's training rows.
        first, last = rows.min(), rows.max()
        window = panel.features.iloc[first : last + 1].to_numpy()
        np.testing.assert_allclose(scaler.mean, window.mean(axis=0), rtol=1e-12)
    assert not np.allclose(fold.scalers[0].features.mean, fold.scalers[1].features.mean)


def test_a_change_in_one_assets_future_moves_nothing_before_it(assets):
    panels, _ = assets
    spy_bars = load_bars("SPY", "2008-01-01", "2014-12-31", provider="bundled")
    cut = pd.Timestamp("2013-06-28")
    changed = spy_bars.copy()
    changed.loc[changed.index > cut, ["open", "high", "low", "close"]] *= 1.5
    perturbed = {**panels, "SPY": _panel(changed)}
    checked = 0
    for a, b in zip(_pooled(panels, ["SPY", "GLD"]), _pooled(perturbed, ["SPY", "GLD"]),
                    strict=True):
        if a.validation.dates.max() > cut:
            continue  # a fold that trains after the change may rescale: that is not the past
        for sa, sb in zip(a.scalers, b.scalers, strict=True):
            assert sa == sb
        for part in ("fit", "validation", "test"):
            before, after = getattr(a, part), getattr(b, part)
            keep = before.dates <= cut
            np.testing.assert_array_equal(before.window[keep], after.window[keep])
        later = (a.test.dates > cut) & (a.test.asset == a.assets.index(0))
        if later.any():  # SPY's rows after the change did move: the test can fail
            assert not np.array_equal(a.test.window[later], b.test.window[later])
            checked += 1
    assert checked == 1


def test_fit_rows_stop_a_horizon_before_the_common_validation_date(assets):
    panels, _ = assets
    for fold in _pooled(panels, ["SPY", "GLD"]):
        start = fold.validation.dates.min()
        assert fold.fit.dates.max() < start
        for code in range(len(fold.assets)):
            assert _rows_of(fold.validation, code).dates.min() >= start


def test_too_few_rows_for_any_asset_is_a_config_error():
    bars = load_bars("SPY", "2010-01-01", "2011-12-31", provider="bundled")
    panel, regime = _panel(bars)
    fold = make_folds(len(panel.dates), CONFIG.walk_forward.model_copy(
        update={"min_train": MIN_POOLED_FIT_ROWS}))[0]
    with pytest.raises(ConfigError, match=f"no asset has {MIN_POOLED_FIT_ROWS} rows"):
        pooled_fold_arrays([panel, panel], [regime, regime], [fold, fold],
                           validation_fraction=0.5)


# ----------------------------------------------------------------------------- Sharpe batches


def test_sharpe_batches_are_runs_of_one_asset_and_reshuffle_each_epoch():
    from tradenn.training import ContiguousBatches

    n = 23
    asset = np.array([0] * 10 + [1] * 13)
    arrays = Arrays(np.arange(n, dtype="float32").reshape(n, 1, 1), np.zeros((n, 1), "float32"),
                    np.arange(n, dtype="float32"), pd.date_range("2020-01-01", periods=n), asset)
    batches = ContiguousBatches(arrays, batch_size=4, seed=0)
    seen = []
    for i in range(len(batches)):
        inputs, y = batches[i]
        rows = inputs["window"][:, 0, 0].astype(int)
        assert len(set(asset[rows])) == 1 and np.all(np.diff(rows) == 1)
        np.testing.assert_array_equal(y[:, 0], rows)  # the target rides with its rows
        np.testing.assert_array_equal(y[1:, 1], 1.0)  # each row continues the previous one
        seen.extend(rows)
    assert sorted(seen) == list(range(n))  # every row once
    first = list(batches.order)
    batches.on_epoch_end()
    again = ContiguousBatches(arrays, batch_size=4, seed=0)
    assert list(again.order) == first and list(batches.order) != first


def test_continues_marks_where_an_asset_begins():
    asset = np.array([0, 0, 1, 1, 1])
    arrays = Arrays(np.zeros((5, 1, 1)), np.zeros((5, 1)), np.zeros(5),
                    pd.date_range("2020-01-01", periods=5), asset)
    np.testing.assert_array_equal(arrays.continues(), [0, 1, 0, 1, 1])


# ----------------------------------------------------------------------------- end to end

POOLED = [
    "data.source=[SPY, data/adjusted/GLD.csv]", "data.start=2003-01-01", "data.end=2011-12-31",
    "train.loss=sharpe", "features.target=vol_scaled_return", "train.epochs=2",
    "train.batch_size=64", "walk_forward.min_train=1000", "walk_forward.test_size=600",
    "walk_forward.ablations=[no_regime]", "regime.detectors.0.levels=3",
]


@pytest.fixture(scope="module")
def pooled_run(tmp_path_factory):
    from tradenn.experiment import train_run

    runs = tmp_path_factory.mktemp("runs")
    return train_run(load_config(TINY, POOLED), runs_dir=runs, quiet=True)


@pytest.mark.slow
def test_a_pooled_sharpe_run_predicts_positions_for_every_asset(pooled_run):
    predictions = pooled_run.predictions()
    assert set(predictions["asset"]) == {"SPY", "GLD"}
    assert not predictions.reset_index().duplicated(["date", "asset"]).any()
    assert predictions.index.is_monotonic_increasing
    for column in ("prediction", "prediction_no_regime"):
        assert predictions[column].between(-1, 1).all()  # tanh positions
    assert {"sigma", "signal_tsmom", "signal_macd"} <= set(predictions.columns)
    # GLD joins once it has a year of rows to fit: never before it started (2004-11-18).
    gld = predictions[predictions["asset"] == "GLD"]
    assert gld.index.min() > pd.Timestamp("2004-11-18")
    history = pd.read_csv(pooled_run.path / "history.csv")
    assert "val_sharpe" in history and np.allclose(history["val_loss"], -history["val_sharpe"])
    manifest = pooled_run.manifest["data"]
    assert set(manifest["assets"]) == {"SPY", "GLD"} and manifest["source"][0] == "SPY"
    scalers = pooled_run.load_scalers(asset="GLD")
    assert scalers.target.mean == 0.0 and scalers.target.std == 1.0  # Sharpe: unscaled target
    # Each asset's regime levels are fitted on its own training bars.
    spy, gld = (pooled_run.load_regime(asset=a).detectors[0].thresholds for a in ("SPY", "GLD"))
    assert len(spy) == 2 and spy != gld
    assert predictions["state"].notna().any()


def test_a_shared_regime_is_one_series_carried_to_each_assets_dates():
    """regime.source: the regime is fitted once, on that series' training window, and each
    asset reads its last value known at each of its dates (never a later one)."""
    from tradenn.experiment import Experiment, _fit_regimes

    config = load_config(TINY, [
        "data.source=[QQQ, data/adjusted/GLD.csv]", "data.start=2004-01-01",
        "data.end=2009-12-31", "regime.source=SPY", "walk_forward.min_train=1000",
        "walk_forward.test_size=400", "regime.detectors.0.levels=3",
    ])
    experiment = Experiment.prepare(config)
    spy = load_bars("SPY", "2004-01-01", "2009-12-31", provider="bundled")
    assert experiment.regime_bars.equals(spy)
    fold = experiment.folds[0]
    local = [asset_fold(fold, experiment.dates, a.panel, purge=1) for a in experiment.assets]
    qqq, gld = _fit_regimes(experiment, fold, local)
    assert qqq.detector is gld.detector  # one fit for every asset
    own = qqq.detector.transform(spy)["vol_z"]
    expected = own.reindex(gld.frame.index, method="ffill")
    pd.testing.assert_series_equal(gld.model_frame["vol_z"], expected)
    assert gld.frame.index.equals(experiment.assets[1].bars.index)
    # Fitted on SPY's bars of the fold's training window only.
    changed = spy.copy()
    later = changed.index > experiment.dates[fold.train_end - 1]
    changed.loc[later, ["open", "high", "low", "close"]] *= 3.0
    experiment.regime_bars = changed
    again, _ = _fit_regimes(experiment, fold, local)
    assert len(qqq.detector.detectors[0].thresholds) == 2  # something was fitted
    assert again.detector.to_dict() == qqq.detector.to_dict()
    early = again.frame.index <= experiment.dates[fold.train_end - 1]
    pd.testing.assert_frame_equal(again.frame[early], qqq.frame[early])


@pytest.mark.slow
def test_a_pooled_run_predicts_every_asset_in_a_fresh_process(pooled_run):
    """`tradenn predict` as a user meets it: another process loads the Sharpe-loss models,
    each asset's scalers and regime, and sizes each asset's position."""
    import subprocess
    import sys

    root = Path(__file__).parent.parent
    predictions = pooled_run.predictions()
    last = predictions.index[-1]
    result = subprocess.run(
        [sys.executable, "-m", "tradenn", "predict", str(pooled_run.path), "--provider",
         "bundled", "--asof", str(last.date())],
        capture_output=True, text=True, cwd=root, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if " as of " in line]
    assert [line.split(" as of ")[0] for line in lines] == ["SPY", "GLD"]
    for line in lines:
        asset = line.split(" as of ")[0]
        assert f"as of {last.date()}: model position" in line
        position = float(line.split("model position ")[1].split(";")[0])
        # The same position the run itself predicted for that date (printed to 3 places).
        row = predictions[(predictions.index == last) & (predictions["asset"] == asset)]
        assert position == pytest.approx(float(row["prediction"].iloc[0]), abs=6e-4)
