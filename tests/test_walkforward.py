"""Walk-forward folds and fold arrays: which rows a model may see."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradenn import experiment
from tradenn.config import ExperimentConfig, WalkForwardConfig, load_config, validate_config
from tradenn.data import load_bars
from tradenn.errors import ConfigError
from tradenn.features import make_windows
from tradenn.walkforward import (
    Panel,
    fold_arrays,
    make_folds,
    resample_regime,
    rows_to_arrays,
    shuffle_regime,
    shuffled_regime_arrays,
)

TINY = Path(__file__).parent / "fixtures" / "tiny.yaml"


def test_expanding_folds_tile_the_history_with_a_purge():
    folds = make_folds(1000, WalkForwardConfig(min_train=400, test_size=250), horizon=3)
    assert [(f.train_start, f.train_end, f.test_start, f.test_end) for f in folds] == [
        (0, 397, 400, 650), (0, 647, 650, 900), (0, 897, 900, 1000)]


def test_rolling_folds_keep_a_fixed_window():
    config = WalkForwardConfig(scheme="rolling", min_train=400, train_window=300, test_size=250,
                               purge=0)
    folds = make_folds(1000, config)
    assert [(f.train_start, f.train_end) for f in folds] == [(100, 400), (350, 650), (600, 900)]


def test_single_split_tests_everything_after_min_train():
    folds = make_folds(1000, WalkForwardConfig(scheme="single", min_train=700))
    assert [(f.train_end, f.test_start, f.test_end) for f in folds] == [(699, 700, 1000)]


def test_too_little_history_is_a_config_error():
    with pytest.raises(ConfigError, match="walk_forward.min_train: 2520 training rows"):
        make_folds(2000, WalkForwardConfig())


@pytest.fixture(scope="module")
def setup():
    config = ExperimentConfig.model_validate(
        {"data": {"start": "2010-01-01", "end": "2014-12-31"},
         "features": {"window": 5},
         "walk_forward": {"min_train": 500, "test_size": 250}})
    bars = load_bars("SPY", "2010-01-01", "2014-12-31", provider="bundled")
    panel = Panel.from_bars(bars, config)
    regime = pd.DataFrame({"r": np.log(bars["close"]).diff().rolling(10).std()}, index=bars.index)
    folds = make_folds(len(panel.dates), config.walk_forward)
    return config, bars, panel, regime, folds


def test_panel_starts_at_the_first_complete_window(setup):
    config, bars, panel, _, _ = setup
    # return_21 and volatility_21 need 22 bars; the window then needs 4 more rows.
    assert panel.first_usable == 21 + 4
    assert panel.dates[0] == bars.index[25]


def test_window_at_row_t_ends_at_t_and_scalers_use_training_rows_only(setup):
    _, _, panel, regime, folds = setup
    fold = folds[0]
    train, validation, test, scalers = fold_arrays(panel, regime, fold, validation_fraction=0.2)
    assert train.dates[-1] < validation.dates[0] < test.dates[0]
    # The purge drops one row before the test span, the gap one before validation.
    assert len(train) + len(validation) == fold.test_start - 2
    features = panel.features.to_numpy()
    row = panel.features.index.get_loc(test.dates[10])
    expected = scalers.features.transform(features[row - 4 : row + 1])
    np.testing.assert_allclose(test.window[10], expected, rtol=1e-6)
    np.testing.assert_allclose(test.regime[10, 0], regime["r"].iloc[row], rtol=1e-6)
    # The scalers see the whole training window (fit, gap and validation rows), no more.
    train_rows = np.arange(fold.train_start, fold.train_end) + panel.first_usable
    np.testing.assert_allclose(scalers.features.mean, features[train_rows].mean(axis=0))


def test_fold_inputs_do_not_move_when_the_future_changes(setup):
    config, bars, _, regime, folds = setup
    fold = folds[0]
    cut = Panel.from_bars(bars, config).dates[fold.test_start + 20]
    changed = bars.copy()
    changed.loc[changed.index > cut, ["open", "high", "low", "close"]] *= 1.7
    panel_a, panel_b = Panel.from_bars(bars, config), Panel.from_bars(changed, config)
    a = fold_arrays(panel_a, regime, fold, validation_fraction=0.2)
    b = fold_arrays(panel_b, regime, fold, validation_fraction=0.2)
    for before, after in zip(a[:2], b[:2], strict=True):
        np.testing.assert_array_equal(before.window, after.window)
    keep = a[2].dates <= cut
    np.testing.assert_array_equal(a[2].window[keep], b[2].window[keep])
    assert not np.array_equal(a[2].window[~keep], b[2].window[~keep])


def test_rows_with_undefined_regime_are_not_trained_on(setup):
    _, _, panel, regime, folds = setup
    holes = regime.copy()
    holes.iloc[100:150] = np.nan
    train, validation, _, _ = fold_arrays(panel, holes, folds[0], validation_fraction=0.2)
    assert not np.isnan(train.regime).any()
    assert len(train) + len(validation) == folds[0].train_end - folds[0].train_start - 50 - 1


def test_shuffle_keeps_the_regime_distribution(setup):
    _, _, panel, regime, folds = setup
    _, _, test, scalers = fold_arrays(panel, regime, folds[0], validation_fraction=0.2)
    shuffled = shuffle_regime(test, np.random.default_rng(0))
    assert not np.array_equal(shuffled.regime, test.regime)
    np.testing.assert_array_equal(np.sort(shuffled.regime, axis=0), np.sort(test.regime, axis=0))
    np.testing.assert_array_equal(shuffled.window, test.window)
    again = rows_to_arrays(panel, regime, scalers, np.arange(30, 40))
    assert again.window.shape == (10, 5, 5)


def test_make_windows_orders_time_then_features():
    values = np.arange(12.0).reshape(6, 2)
    windows = make_windows(values, 3)
    assert windows.shape == (4, 3, 2)
    np.testing.assert_array_equal(windows[1], values[1:4])


def test_resampled_test_regimes_come_from_the_training_window(setup):
    _, _, panel, regime, folds = setup
    train, _, test, _ = fold_arrays(panel, regime, folds[0], validation_fraction=0.2)
    drawn = resample_regime(test, train.regime, np.random.default_rng(1))
    assert np.isin(drawn.regime[:, 0], train.regime[:, 0]).all()
    assert not np.isin(test.regime[:, 0], train.regime[:, 0]).all()
    # The draw depends on the seed only, so a changed future cannot change a past row.
    again = resample_regime(test, train.regime, np.random.default_rng(1))
    np.testing.assert_array_equal(drawn.regime, again.regime)


def test_purge_below_the_horizon_is_a_config_error():
    with pytest.raises(ConfigError, match=r"walk_forward.purge \(2\) is below features.horizon \(5\)"):
        validate_config({"features": {"horizon": 5}, "walk_forward": {"purge": 2}})
    ExperimentConfig.model_validate({"features": {"horizon": 5}, "walk_forward": {"purge": 5}})


def test_fit_rows_end_a_horizon_before_the_validation_rows(setup):
    """With 5-day labels, the last fit row's label must end before validation begins."""
    _, _, panel, regime, folds = setup
    horizon = 5
    fit, validation, _, _ = fold_arrays(panel, regime, folds[0], validation_fraction=0.2,
                                        horizon=horizon)
    dates = panel.features.index
    last_fit, first_val = dates.get_loc(fit.dates[-1]), dates.get_loc(validation.dates[0])
    assert first_val - last_fit == horizon + 1  # rows last_fit+1 .. first_val-1 are the gap
    assert last_fit + horizon < first_val  # the label's last close precedes validation


def test_shuffled_regime_treats_validation_like_test(setup):
    """Validation rows draw regimes from the fit rows, as test rows do; permuting them
    within the validation span would give a date a regime from its own future."""
    _, _, panel, regime, folds = setup
    fit, validation, test, _ = fold_arrays(panel, regime, folds[0], validation_fraction=0.2)
    fit_s, validation_s, test_s = shuffled_regime_arrays(fit, validation, test,
                                                          np.random.default_rng(3))
    np.testing.assert_array_equal(np.sort(fit_s.regime, axis=0), np.sort(fit.regime, axis=0))
    assert np.isin(validation_s.regime[:, 0], fit.regime[:, 0]).all()
    assert np.isin(test_s.regime[:, 0], fit.regime[:, 0]).all()
    assert not np.isin(validation.regime[:, 0], fit.regime[:, 0]).all()


def test_rolling_fits_the_regime_on_the_rolling_window(monkeypatch, tmp_path):
    """The regime, like the scalers and the model, sees only the fold's rolling window."""
    seen: list[pd.Timestamp] = []

    class Seen(Exception):
        pass

    real_build = experiment.build_regime

    def recording_build(config):
        regime = real_build(config)

        def fit(bars, **kwargs):
            seen.append(bars.index[0])
            raise Seen

        regime.fit = fit
        return regime

    monkeypatch.setattr(experiment, "build_regime", recording_build)
    config = load_config(TINY, ["walk_forward.scheme=rolling", "walk_forward.train_window=400"])
    with pytest.raises(Seen):
        experiment.train_run(config, runs_dir=tmp_path, quiet=True)
    (run_dir,) = tmp_path.iterdir()
    first_fold = experiment.Run.open(run_dir).manifest["folds"][0]
    assert first_fold["rows_train_start"] > 0
    assert seen == [pd.Timestamp(first_fold["train_start"])]
