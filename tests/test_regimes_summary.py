"""Seeing regimes: the per-state table, the figure, `analyze_regimes`, the shipped configs."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradenn.config import load_config
from tradenn.data import load_bars
from tradenn.errors import DataError
from tradenn.regimes import build_regime, regime_table, tercile_states
from tradenn.regimes.analysis import analyze_regimes, first_fit_window, regime_source
from tradenn.regimes.plot import plot_regimes
from tradenn.regimes.summary import run_lengths

CONFIGS = sorted(Path("configs").glob("*.yaml"))


def hand_made() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ten bars whose closes and states make every table entry easy to compute by hand."""
    close = np.array([100, 101, 99, 99, 102, 104, 103, 103, 106, 100], dtype=float)
    index = pd.bdate_range("2020-01-01", periods=10, name="date")
    bars = pd.DataFrame(
        {"open": close, "high": close, "low": close, "close": close, "volume": 1.0}, index=index
    )
    states = pd.DataFrame({"s": [np.nan, 0, 0, 1, 1, 1, 0, np.nan, 1, 1]}, index=index)
    return bars, states


def test_run_lengths():
    _, states = hand_made()
    runs = run_lengths(states["s"])
    assert runs.to_dict("list") == {"state": [0.0, 1.0, 0.0, 1.0], "length": [2, 3, 1, 2]}


def test_regime_table_by_hand():
    bars, states = hand_made()
    table = regime_table(bars, states, "s", labels={0: "calm", 1: "wild"})
    close = bars["close"].to_numpy()
    nxt = close[1:] / close[:-1] - 1  # return from t to t+1, stamped t
    zero_days, one_days = [1, 2, 6], [3, 4, 5, 8]  # row 9 has no next day
    assert list(table.index) == [0, 1]
    assert table["label"].tolist() == ["calm", "wild"]
    assert table["days"].tolist() == [3, 5]
    np.testing.assert_allclose(table["share"], [3 / 8, 5 / 8])
    np.testing.assert_allclose(table["mean_return"], [nxt[zero_days].mean(), nxt[one_days].mean()])
    np.testing.assert_allclose(
        table["ann_volatility"],
        [nxt[zero_days].std(ddof=1) * np.sqrt(252), nxt[one_days].std(ddof=1) * np.sqrt(252)],
    )
    assert table["episodes"].tolist() == [2, 2]
    np.testing.assert_allclose(table["avg_duration"], [1.5, 2.5])
    same = regime_table(bars, states, "s", returns="same")
    prev = close[1:] / close[:-1] - 1  # return from t-1 to t is prev[t-1]
    assert same.loc[0, "mean_return"] == pytest.approx(np.mean([prev[0], prev[1], prev[5]]))


def test_regime_table_without_states_uses_terciles():
    bars, _ = hand_made()
    values = pd.DataFrame({"x_z": np.arange(10, dtype=float)}, index=bars.index)
    table = regime_table(bars, values, None)
    assert table["label"].tolist() == ["x_z low", "x_z mid", "x_z high"]
    assert table["days"].tolist() == [3, 3, 4]  # a value on a cut goes to the upper third
    assert tercile_states(values["x_z"]).tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 2]


def test_regime_table_rejects_misaligned_frames():
    bars, states = hand_made()
    with pytest.raises(
        DataError,
        match=r"expected regimes indexed like the bars \(10 rows from 2020-01-01\), got 9 rows",
    ):
        regime_table(bars, states.iloc[1:], "s")
    with pytest.raises(DataError, match=r"no column 'hmm_state' in the regimes; got \['s'\]"):
        regime_table(bars, states, "hmm_state")


def test_plot_regimes_draws_price_states_and_columns(tmp_path):
    bars, states = hand_made()
    states["p"] = np.linspace(0, 1, 10)
    fig = plot_regimes(
        bars, states, "s", ["p", "s"], labels={0: "calm", 1: "wild"}, fit_end=bars.index[5]
    )
    price, *panels = fig.axes
    assert price.get_yscale() == "log"
    assert [t.get_text() for t in price.get_legend().get_texts()] == ["close", "calm", "wild"]
    assert [a.get_ylabel() for a in panels] == ["p", "s"]
    fig.savefig(tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 5000


def test_plot_regimes_never_imports_pyplot():
    """No global figure state, no GUI backend: checked in a fresh interpreter, since other
    tests (and libraries) may have imported pyplot in this one."""
    code = (
        "import sys, numpy as np, pandas as pd\n"
        "from tradenn.data import load_bars\n"
        "from tradenn.regimes.plot import plot_regimes\n"
        "bars = load_bars('SPY', '2020-01-01', '2020-03-31', provider='bundled')\n"
        "states = pd.DataFrame({'s': np.arange(len(bars)) % 2 * 1.0}, index=bars.index)\n"
        "plot_regimes(bars, states, 's', ['s']).savefig(sys.argv[1])\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
    )
    import subprocess
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".png") as out:
        result = subprocess.run([sys.executable, "-c", code, out.name], capture_output=True,
                                text=True)
    assert result.returncode == 0, result.stderr


def test_analyze_regimes_writes_its_files(tmp_path):
    config = load_config("configs/spy_hmm.yaml", ["walk_forward.min_train=1000"])
    analysis = analyze_regimes(config, tmp_path / "out")
    bars = load_bars("SPY", "2000-01-01", provider="bundled")
    # Features need 21 bars (return_21), the HMM's volatility window 21: fit ends 1000 bars later.
    assert analysis.fit_start == bars.index[21]
    assert analysis.fit_end == bars.index[21 + 1000 - 1]
    assert analysis.regime.detectors[0].fit_info["train_last"] == str(analysis.fit_end.date())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "regimes.csv",
        "regimes.png",
        "regimes_table.csv",
    ]
    csv = pd.read_csv(analysis.csv_path, index_col="date", parse_dates=["date"])
    assert list(csv.columns) == ["close", "hmm_p0", "hmm_p1", "hmm_state", "in_fit_window"]
    assert csv["in_fit_window"].sum() == 21 + 1000
    assert analysis.table["days"].sum() == analysis.frame["hmm_state"].notna().sum()
    assert analysis.model_columns == ["hmm_p0", "hmm_p1"] and analysis.state_column == "hmm_state"


def test_analyze_regimes_needs_enough_bars(tmp_path):
    config = load_config("configs/spy.yaml", ["walk_forward.min_train=9000"])
    with pytest.raises(
        DataError,
        match=r"walk_forward.min_train: expected at least 9000 bars after a warm-up of \d+ bars",
    ):
        analyze_regimes(config, tmp_path)


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_every_config_builds_a_regime_that_yields_its_columns(path):
    config = load_config(path)
    bars = load_bars(
        regime_source(config), config.data.start, config.data.end,
        provider=config.regime.provider or config.data.provider, interval=config.data.interval,
    )
    regime = build_regime(config.regime)
    fit_start, fit_end = first_fit_window(bars, config, regime)
    frame = regime.fit(bars.loc[:fit_end]).transform(bars)
    assert list(frame.columns) == regime.columns
    model = frame.loc[fit_start:, regime.model_columns]
    assert model.notna().all().all(), f"{path.name}: NaN model columns after warm-up"
    assert np.isfinite(model.to_numpy()).all() and model.abs().max().max() < 10
    if config.regime.columns is not None:
        assert regime.model_columns == config.regime.columns
    if config.model.mapping.kind == "per_state":  # per-state mappings need probabilities
        np.testing.assert_allclose(model.sum(axis=1), 1.0, atol=1e-9)


def test_regime_table_annualizes_with_the_bars_frequency():
    """Hourly bars: volatility x sqrt(6240) (what the bars imply), not sqrt(252)."""
    bars = load_bars("EURUSD", "2017-05-01", "2017-06-30", provider="bundled", interval="1h")
    states = pd.DataFrame({"s": (np.arange(len(bars)) // 50 % 2).astype(float)},
                          index=bars.index)
    table = regime_table(bars, states, "s")
    nxt = (bars["close"].shift(-1) / bars["close"] - 1)[states["s"] == 0].dropna()
    assert table.loc[0, "ann_volatility"] == pytest.approx(nxt.std() * np.sqrt(6240), rel=1e-12)
    stated = regime_table(bars, states, "s", bars_per_year=100.0)
    assert stated.loc[0, "ann_volatility"] == pytest.approx(nxt.std() * 10.0, rel=1e-12)
