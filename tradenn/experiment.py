"""A whole training run: walk-forward folds × variants × seeds, written to a run directory.

For each fold the regime detector and the scalers are fitted on that fold's training window
only, and a fresh model per variant and seed predicts the fold's test span. Each finished
fold is saved under ``folds/`` before the next begins, so ``--resume`` redoes only what an
interruption lost; the run's own files (``predictions.csv`` ...) and the ``complete`` status
are written once every fold is done.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tradenn.config import ExperimentConfig, asset_name
from tradenn.data import bars_hash, load_bars
from tradenn.errors import RunError, TradennError
from tradenn.files import (
    read_json,
    write_atomic,
    write_csv_atomic,
    write_json_atomic,
    write_text_atomic,
)
from tradenn.frequency import resolve_bars_per_year
from tradenn.progress import Progress
from tradenn.regimes import build_regime
from tradenn.runs import (
    COMPLETE,
    FAILED,
    INTERRUPTED,
    MAIN_VARIANT,
    RUNNING,
    Run,
    prediction_column,
)
from tradenn.walkforward import (
    Fold,
    Panel,
    PooledArrays,
    asset_fold,
    make_folds,
    pooled_fold_arrays,
    shuffled_regime_arrays,
)


def variants(config: ExperimentConfig) -> list[str]:
    """The regime model first, then its ablations."""
    return [MAIN_VARIANT, *config.walk_forward.ablations]


def package_versions() -> dict[str, str]:
    versions = {}
    for package in ("tradenn", "tensorflow", "keras", "numpy", "pandas", "yfinance"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


@dataclass
class Asset:
    """One asset of a run: its bars, its panel, and the series written beside its
    predictions (ex-ante volatility, the classical baselines' signals)."""

    name: str
    bars: pd.DataFrame
    panel: Panel
    extras: pd.DataFrame  # sigma, signal_tsmom, signal_macd on the bars' dates

    @classmethod
    def load(cls, source: str, config: ExperimentConfig, bars_per_year: float | None) -> Asset:
        from tradenn.baselines import baseline_signals

        data = config.data
        bars = load_bars(source, data.start, data.end, provider=data.provider,
                         interval=data.interval)
        bars_per_year = resolve_bars_per_year(bars.index, bars_per_year)
        panel = Panel.from_bars(bars, config, bars_per_year=bars_per_year)
        extras = baseline_signals(bars["close"], bars_per_year)
        extras.insert(0, "sigma", panel.sigma)
        return cls(asset_name(source), bars, panel, extras)


@dataclass
class Experiment:
    """The config with its bars loaded and its folds laid out.

    A pooled run (``data.source`` a list) has several assets; its folds are cut on the union
    of their dates, so an asset that starts late or misses a day costs only its own rows.
    """

    config: ExperimentConfig
    assets: list[Asset]
    dates: pd.DatetimeIndex  # the union of the assets' usable dates: what folds count
    folds: list[Fold]
    bars_per_year: float  # data.bars_per_year, or what the (first asset's) bars imply
    regime_bars: pd.DataFrame | None = None  # regime.source's bars: one regime for all

    @classmethod
    def prepare(cls, config: ExperimentConfig) -> Experiment:
        data = config.data
        first = Asset.load(data.sources[0], config, data.bars_per_year)
        bars_per_year = resolve_bars_per_year(first.bars.index, data.bars_per_year)
        assets = [first] + [Asset.load(s, config, bars_per_year) for s in data.sources[1:]]
        dates = assets[0].panel.dates
        for asset in assets[1:]:
            dates = dates.union(asset.panel.dates)
        folds = make_folds(len(dates), config.walk_forward, horizon=config.features.horizon)
        regime_bars = None
        if config.regime.source is not None:
            regime_bars = load_bars(config.regime.source, data.start, data.end,
                                    provider=config.regime.provider or data.provider,
                                    interval=data.interval)
        return cls(config, assets, dates, folds, bars_per_year, regime_bars)

    @property
    def bars(self) -> pd.DataFrame:
        """The (first) asset's bars: the preflight checks' input."""
        return self.assets[0].bars

    @property
    def pooled(self) -> bool:
        return len(self.assets) > 1

    @property
    def regime_input(self) -> pd.DataFrame:
        """Bars a regime is computed from: ``regime.source``'s, else the (first) asset's."""
        return self.bars if self.regime_bars is None else self.regime_bars

    def bars_hash(self) -> str:
        """The bars' content hash; a pooled run's combines every asset's (and the regime's)."""
        if not self.pooled and self.regime_bars is None:
            return bars_hash(self.bars)
        parts = [f"{a.name}:{bars_hash(a.bars)}" for a in self.assets]
        if self.regime_bars is not None:
            parts.append(f"regime:{bars_hash(self.regime_bars)}")
        return hashlib.sha256(";".join(parts).encode()).hexdigest()[:16]

    def data_record(self) -> dict[str, Any]:
        record = {
            "source": self.config.data.source,
            "provider": self.config.data.provider,
            "start": str(min(a.bars.index[0] for a in self.assets).date()),
            "end": str(max(a.bars.index[-1] for a in self.assets).date()),
            "rows": sum(len(a.bars) for a in self.assets),
            "hash": self.bars_hash(),
            "interval": self.config.data.interval,
            "bars_per_year": self.bars_per_year,
        }
        if self.pooled:
            record["assets"] = {
                a.name: {"start": str(a.bars.index[0].date()), "end": str(a.bars.index[-1].date()),
                         "rows": len(a.bars), "hash": bars_hash(a.bars)}
                for a in self.assets
            }
        return record


def train_run(
    config: ExperimentConfig,
    *,
    runs_dir: str | Path = "runs",
    run_dir: str | Path | None = None,
    progress: Progress | None = None,
    quiet: bool = False,
) -> Run:
    """Train ``config`` walk-forward into a new run directory and mark it complete.

    The directory is ``runs_dir/<name>-<timestamp>``, or exactly ``run_dir`` (a sweep's
    trial) when given.
    """
    experiment = Experiment.prepare(config)
    checks = preflight(config, experiment.regime_input)
    run = Run.create(
        runs_dir,
        config.name,
        path=run_dir,
        plugins=list(config.plugins),
        checks=checks,
        variants=variants(config),
        seeds=list(config.train.seeds),
        data=experiment.data_record(),
        versions=package_versions(),
        folds=[{**f.to_dict(experiment.dates), "status": "pending"} for f in experiment.folds],
    )
    write_text_atomic(run.path / "config.yaml", config.to_yaml())
    return _execute(run, experiment, progress or _default_progress(experiment, quiet))


def resume_run(
    run_dir: str | Path, *, progress: Progress | None = None, quiet: bool = False,
    workers: int | None = None,
) -> Run:
    """Finish an interrupted or failed run without redoing its completed folds.

    ``workers`` replaces the run's ``train.workers`` for this attempt (it changes how fast,
    never what, the run predicts).
    """
    run = Run.open(run_dir)
    if run.status == COMPLETE:
        raise RunError(f"run {run.path} is already complete; nothing to resume")
    config = run.config()
    if workers is not None:
        config.train.workers = workers
    experiment = Experiment.prepare(config)
    stored, current = run.manifest["data"]["hash"], experiment.bars_hash()
    if stored != current:
        raise RunError(
            f"run {run.path}: the bars changed since the run started (hash {stored}, now "
            f"{current}); start a new run instead of resuming"
        )
    if len(run.manifest["folds"]) != len(experiment.folds):
        raise RunError(f"run {run.path}: its folds no longer match its config; start a new run")
    run.mark(RUNNING, error=None, checks=preflight(experiment.config, experiment.regime_input))
    return _execute(run, experiment, progress or _default_progress(experiment, quiet))


def preflight(config: ExperimentConfig, bars: pd.DataFrame) -> dict[str, Any]:
    """The checks made before anything trains, as recorded in the run's manifest.

    With ``gradient: analytic`` every family the model uses must pass
    `tradenn.activations.check_activation` (once per process); every detector a plugin
    registered must pass `tradenn.regimes.check_causal` unless ``regime.check_causal`` is
    false (the built-ins are checked by tradenn's tests).

    Raises:
        ActivationCheckError: a family's derivative disagrees with finite differences.
        LookAheadError: a plugin detector's value at t moves with bars after t.
    """
    model = config.model
    families = sorted({model.activation, model.lstm_activation, model.recurrent_activation})
    if model.gradient == "analytic":
        from tradenn.activation_plugins import require_checked

        for name in families:
            require_checked(name)
    checks: dict[str, Any] = {
        "activations": families if model.gradient == "analytic" else "off (gradient: autodiff)",
        "causality": "on" if config.regime.check_causal else "off (regime.check_causal: false)",
    }
    if config.regime.check_causal:
        from tradenn.regimes.causality import LookAheadError, config_causality

        results = config_causality(config, bars, plugins_only=True)
        for label, found in results:
            if found is not None:
                raise LookAheadError(f"regime.detectors.{label}: {found.describe()}; "
                                     "fix the detector (regime.check_causal: false skips this)")
        checks["detectors"] = [label for label, _ in results]
    return checks


def _default_progress(experiment: Experiment, quiet: bool) -> Progress:
    config = experiment.config
    per_fold = len(variants(config)) * len(config.train.seeds)
    return Progress(len(experiment.folds) * per_fold, quiet=quiet)


def _fold_dir(run: Run, fold: Fold) -> Path:
    return run.path / "folds" / f"fold_{fold.index}"


def _execute(run: Run, experiment: Experiment, progress: Progress) -> Run:
    config = experiment.config
    per_fold = len(variants(config)) * len(config.train.seeds)
    try:
        for fold in experiment.folds:
            record = run.manifest["folds"][fold.index]
            if record["status"] == COMPLETE and (_fold_dir(run, fold) / "predictions.csv").is_file():
                progress.skip(per_fold)
                continue
            record["status"] = RUNNING
            run.save_manifest()
            _train_fold(run, experiment, fold, progress)
            record["status"] = COMPLETE
            run.save_manifest()
        _finish(run, experiment)
    except KeyboardInterrupt:
        _interrupted(run)
    except Exception as exc:
        if _is_interrupt(exc):
            _interrupted(run)
        _mark_current_fold(run, FAILED)
        run.mark(FAILED, error=str(exc))
        if isinstance(exc, TradennError):
            raise RunError(f"{exc} (run {run.path} marked failed)") from None
        raise
    return run


def _interrupted(run: Run) -> None:
    _mark_current_fold(run, INTERRUPTED)
    run.mark(INTERRUPTED, error="interrupted by the user")
    raise RunError(
        f"interrupted; completed folds are kept. Resume with: tradenn train --resume {run.path}"
    ) from None


def _is_interrupt(exc: BaseException) -> bool:
    """Ctrl-C that lands inside a TensorFlow op can surface as pybind11's RuntimeError
    ("... REPLACED BY KeyboardInterrupt"), not as a KeyboardInterrupt: it is one all the same."""
    return isinstance(exc, RuntimeError) and "KeyboardInterrupt" in str(exc)


def _mark_current_fold(run: Run, status: str) -> None:
    for record in run.manifest["folds"]:
        if record["status"] == RUNNING:
            record["status"] = status


def _train_fold(run: Run, experiment: Experiment, fold: Fold, progress: Progress) -> None:
    # TensorFlow is imported here, not at module level, so `tradenn --help` stays instant.
    from tradenn.training import ModelTask

    config = experiment.config
    fold_dir = _fold_dir(run, fold)
    fold_dir.mkdir(parents=True, exist_ok=True)
    horizon = config.features.horizon
    purge = horizon if config.walk_forward.purge is None else config.walk_forward.purge
    local = [asset_fold(fold, experiment.dates, a.panel, purge=purge) for a in experiment.assets]
    regimes = _fit_regimes(experiment, fold, local)
    detector = next(r.detector for r in regimes if r is not None)
    # For the report's per-regime tables (the last fold's names; saved with the fold).
    run.manifest["state_column"] = detector.state_column
    run.manifest["state_labels"] = {str(k): v for k, v in detector.state_labels().items()}
    pooled = pooled_fold_arrays(
        [a.panel for a in experiment.assets],
        [None if r is None else r.model_frame for r in regimes], local,
        validation_fraction=config.train.validation_fraction, horizon=horizon,
        scale_target=config.train.loss != "sharpe",
    )
    train, validation, test = pooled.fit, pooled.validation, pooled.test
    regime_mean = np.nanmean(train.regime, axis=0)
    n_folds = len(experiment.folds)
    tasks = []
    for variant in variants(config):
        for seed in config.train.seeds:
            train_v, validation_v, test_v = train, validation, test
            if variant == "shuffled_regime":
                rng = np.random.default_rng([seed, fold.index])
                train_v, validation_v, test_v = shuffled_regime_arrays(train, validation, test, rng)
            tasks.append(ModelTask(
                config=config, variant=variant, seed=seed,
                label=f"fold {fold.index + 1}/{n_folds} · {variant} · seed {seed}",
                train=train_v, validation=validation_v, test=test_v, regime_mean=regime_mean,
                model_path=str(fold_dir / f"{variant}_seed{seed}.keras"),
                with_theta=variant == MAIN_VARIANT,
            ))
    outcomes = _train_models(tasks, config.train.workers, progress)

    # Per task: the test rows' standardized predictions, each asset's back in its units.
    scaled_predictions: dict[str, list[np.ndarray]] = {}
    shifts: dict[str, list[np.ndarray]] = {}
    histories, thetas = [], []
    columns: dict[str, np.ndarray] = {}
    for task, outcome in zip(tasks, outcomes, strict=True):
        variant, seed = task.variant, task.seed
        columns[prediction_column(variant, seed)] = _inverse_by_asset(
            outcome.scaled, test.asset, pooled.scalers)
        scaled_predictions.setdefault(variant, []).append(outcome.scaled)
        shifts.setdefault(variant, []).append(outcome.shift)
        if outcome.theta is not None:
            thetas.append(outcome.theta)
        histories.append(outcome.history.assign(fold=fold.index, variant=variant, seed=seed))
    for variant in variants(config):
        columns[prediction_column(variant)] = np.mean(
            [columns[prediction_column(variant, s)] for s in config.train.seeds], axis=0)
    for name in thetas[0]:
        columns[f"theta_{name}"] = np.mean([t[name] for t in thetas], axis=0)

    frames = []
    for code, position in enumerate(pooled.assets):
        asset, rows = experiment.assets[position], test.asset == code
        dates = test.dates[rows]
        regime = regimes[position]
        out = pd.DataFrame(index=dates)
        out.index.name = "date"
        out["fold"] = fold.index
        out["asset"] = asset.name
        out["open"] = asset.bars["open"].reindex(dates)  # for next_open execution
        out["close"] = asset.bars["close"].reindex(dates)
        out["target"] = asset.panel.returns.reindex(dates)
        for name, values in columns.items():
            out[name] = values[rows]
        for column in regime.model_frame.columns:
            out[f"regime_{column}"] = regime.model_frame[column].reindex(dates)
        if detector.state_column is not None:
            out["state"] = regime.frame[detector.state_column].reindex(dates)
        frames.append(out.join(asset.extras.reindex(dates)))
    out = pd.concat(frames)
    if experiment.pooled:  # rows by date, then asset
        out = out.iloc[np.lexsort((out["asset"].to_numpy(), out.index.to_numpy()))]

    target_std = float(np.mean([np.atleast_1d(s.target.std)[0] for s in pooled.scalers]))
    sensitivity = {
        variant: theta_sensitivity(
            np.mean(scaled_predictions[variant], axis=0), np.mean(shifts[variant], axis=0),
            target_std)
        for variant in variants(config)
    }
    write_json_atomic(fold_dir / SENSITIVITY, sensitivity)
    _save_fitted(fold_dir, experiment, regimes, pooled)
    write_csv_atomic(fold_dir / "history.csv", pd.concat(histories).set_index("fold"))
    write_csv_atomic(fold_dir / "predictions.csv", _ordered(out, config))


@dataclass
class FittedRegime:
    """A fold's regime of one asset: the detector and its columns on the asset's bars."""

    detector: Any
    frame: pd.DataFrame  # every column, on the asset's dates
    model_frame: pd.DataFrame  # the model's regime input columns


def _fit_regimes(experiment: Experiment, fold: Fold,
                 local: list[Fold | None]) -> list[FittedRegime | None]:
    """Each asset's regime, fitted on the fold's training window only: on the asset's own
    bars, or (``regime.source``) once on that series and aligned to each asset's dates by
    carrying its last known value forward (never a later one). None: the asset has no
    training rows in this fold."""
    config = experiment.config
    if experiment.regime_bars is not None:
        shared = experiment.regime_bars
        first, last = experiment.dates[fold.train_start], experiment.dates[fold.train_end - 1]
        detector = build_regime(config.regime)
        detector.fit(shared.loc[first:last], bars_per_year=experiment.bars_per_year)
        frame = detector.transform(shared)
        fitted = []
        for asset, asset_fold_ in zip(experiment.assets, local, strict=True):
            aligned = frame.reindex(asset.bars.index, method="ffill")
            fitted.append(None if asset_fold_ is None else FittedRegime(
                detector, aligned, aligned[detector.model_columns]))
        return fitted
    fitted = []
    for asset, asset_fold_ in zip(experiment.assets, local, strict=True):
        if asset_fold_ is None:
            fitted.append(None)
            continue
        # The regime is fitted on the fold's training window, the same rows as the scalers
        # and the model (a rolling window does not start at bar 0).
        offset = asset.panel.first_usable
        window = slice(offset + asset_fold_.train_start, offset + asset_fold_.train_end)
        detector = build_regime(config.regime)
        detector.fit(asset.bars.iloc[window], bars_per_year=experiment.bars_per_year)
        frame = detector.transform(asset.bars)
        fitted.append(FittedRegime(detector, frame, frame[detector.model_columns]))
    return fitted


def _inverse_by_asset(scaled: np.ndarray, asset: np.ndarray, scalers: list[Any]) -> np.ndarray:
    """Standardized predictions back in each asset's own target units."""
    out = np.empty(len(scaled), dtype="float64")
    for code, scaler in enumerate(scalers):
        rows = asset == code
        out[rows] = scaler.target.inverse(scaled[rows])
    return out


def _save_fitted(fold_dir: Path, experiment: Experiment, regimes: list[FittedRegime | None],
                 pooled: PooledArrays) -> None:
    """``scalers.json`` and ``regime.json``; a pooled run keeps one of each per asset
    (``scalers.json`` maps asset -> scalers; ``regime_<asset>.json`` unless it is shared)."""
    names = [experiment.assets[p].name for p in pooled.assets]
    if not experiment.pooled:
        write_json_atomic(fold_dir / "scalers.json", pooled.scalers[0].to_dict())
    else:
        write_json_atomic(fold_dir / "scalers.json", {
            "assets": {n: s.to_dict() for n, s in zip(names, pooled.scalers, strict=True)}})
    if not experiment.pooled or experiment.regime_bars is not None:
        detector = next(r.detector for r in regimes if r is not None)
        write_json_atomic(fold_dir / "regime.json", detector.to_dict())
        return
    for name, position in zip(names, pooled.assets, strict=True):
        write_json_atomic(fold_dir / f"regime_{name}.json", regimes[position].detector.to_dict())


SENSITIVITY = "sensitivity.json"


def _train_models(tasks: list[Any], workers: int, progress: Progress) -> list[Any]:
    """Every model task of a fold: in this process (``workers`` 1), or as Ray tasks, at most
    ``workers`` at a time, each with its share of the machine's cores."""
    import functools
    import os

    from tradenn.parallel import run_tasks
    from tradenn.training import train_model_task

    def started(index: int) -> None:
        progress.start_model(tasks[index].label, tasks[index].config.train.epochs)

    def finished(index: int, outcome: Any) -> None:
        progress.end_model(len(outcome.history), float(outcome.history["val_loss"].min()),
                           label=tasks[index].label)

    if workers <= 1:
        function = functools.partial(train_model_task, on_epoch=progress.epoch)
    else:
        function = train_model_task  # the epoch line is for one model trained in view
    cpus = max(1, (os.cpu_count() or 1) // max(1, workers))
    return run_tasks(function, tasks, max_concurrent=workers, cpus_per_task=cpus,
                     on_start=started, on_result=finished)


def theta_sensitivity(prediction: np.ndarray, shift: np.ndarray, target_std: float) -> dict[str, Any]:
    """Summary of how a (seed-averaged) prediction moves with the regime input.

    Args:
        prediction: the standardized prediction on the test rows.
        shift: ``prediction`` minus the prediction with the regime input replaced by its
            training mean (`tradenn.training.regime_sensitivity`), standardized.
        target_std: the target scaler's standard deviation (standardized -> return units).

    Returns:
        ``mean_abs_shift`` (return units), ``relative`` (mean |shift| over the prediction's
        standard deviation: 0 when the regime is ignored), ``sign_changes`` (share of rows
        whose predicted direction, hence a sign position, flips), ``rows``.
    """
    known = np.isfinite(prediction) & np.isfinite(shift)
    p, d = prediction[known], shift[known]
    if len(p) == 0:
        return {"mean_abs_shift": None, "relative": None, "sign_changes": None, "rows": 0}
    spread = float(np.std(p))
    mean_abs = float(np.mean(np.abs(d)))
    return {
        "mean_abs_shift": mean_abs * target_std,
        "relative": mean_abs / spread if spread > 0 else 0.0,
        "sign_changes": float(np.mean(np.sign(p) != np.sign(p - d))),
        "rows": int(len(p)),
    }


def _ordered(frame: pd.DataFrame, config: ExperimentConfig) -> pd.DataFrame:
    """Columns in a reader's order: fold, prices, predictions, θ, regime."""
    first = ["fold", "asset", "open", "close", "target", "sigma"] + [
        prediction_column(v) for v in variants(config)]
    rest = [c for c in frame.columns if c not in first]
    return frame[first + sorted(rest, key=lambda c: (not c.startswith("prediction"), c))]


def _finish(run: Run, experiment: Experiment) -> None:
    config = experiment.config
    fold_dirs = [_fold_dir(run, fold) for fold in experiment.folds]
    predictions = pd.concat(
        pd.read_csv(d / "predictions.csv", index_col="date", parse_dates=["date"]) for d in fold_dirs
    )
    history = pd.concat(pd.read_csv(d / "history.csv") for d in fold_dirs)
    write_csv_atomic(run.path / "predictions.csv", predictions)
    write_csv_atomic(run.path / "history.csv", history.set_index("fold"))
    metrics = prediction_metrics(predictions, variants(config))
    _add_sensitivity(metrics, fold_dirs)
    write_json_atomic(run.path / "metrics.json", metrics)
    last = fold_dirs[-1] / f"{MAIN_VARIANT}_seed{config.train.seeds[0]}.keras"
    write_atomic(run.path / "model.keras", lambda tmp: shutil.copyfile(last, tmp))
    run.mark(COMPLETE, error=None)


def _add_sensitivity(metrics: dict[str, Any], fold_dirs: list[Path]) -> None:
    """``metrics[variant]["theta_sensitivity"]``: per fold, and the row-weighted mean."""
    per_fold = {}
    for index, fold_dir in enumerate(fold_dirs):
        path = fold_dir / SENSITIVITY
        if path.is_file():  # a fold finished before sensitivity existed has none
            per_fold[index] = read_json(path)
    if not per_fold:
        return
    for variant, record in metrics.items():
        folds = {i: f[variant] for i, f in per_fold.items() if variant in f}
        rows = np.array([f["rows"] for f in folds.values()], dtype=float)
        summary: dict[str, Any] = {"folds": folds}
        for key in ("mean_abs_shift", "relative", "sign_changes"):
            values = np.array([np.nan if f[key] is None else f[key] for f in folds.values()])
            ok = np.isfinite(values) & (rows > 0)
            summary[key] = float(np.average(values[ok], weights=rows[ok])) if ok.any() else None
        record["theta_sensitivity"] = summary


def prediction_metrics(predictions: pd.DataFrame, names: list[str]) -> dict[str, Any]:
    """Per variant, overall and per fold: how well predictions track the realized target."""

    def metrics(frame: pd.DataFrame, column: str) -> dict[str, float]:
        known = frame[[column, "target"]].dropna()
        error = known[column] - known["target"]
        return {
            "rows": len(known),
            "mse": float((error**2).mean()),
            "mae": float(error.abs().mean()),
            "ic_pearson": float(known[column].corr(known["target"])),
            "ic_spearman": float(known[column].corr(known["target"], method="spearman")),
            "hit_rate": float((np.sign(known[column]) == np.sign(known["target"])).mean()),
        }

    result: dict[str, Any] = {}
    for variant in names:
        column = prediction_column(variant)
        result[variant] = {
            "all": metrics(predictions, column),
            "folds": {int(k): metrics(g, column) for k, g in predictions.groupby("fold")},
        }
    return result
