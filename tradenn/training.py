"""Fit one model on one fold's arrays, seeded, and predict with it.

Reproducibility: every model starts from ``keras.utils.set_random_seed(seed)`` with
TensorFlow's op determinism on, so a model's weights depend on its seed and data only —
not on which models were trained before it in the process. That is what lets a resumed
run give the same predictions as an uninterrupted one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from tradenn.config import ExperimentConfig
from tradenn.errors import ConfigError, TradennError
from tradenn.models import build_model
from tradenn.walkforward import Arrays

EpochCallback = Callable[[int, dict[str, float]], None]


class NonFiniteLoss(TradennError):
    """Training produced a NaN or infinite loss."""


# Keras warns about retracing when each fold builds a fresh model: expected here, not a bug.
tf.get_logger().setLevel("ERROR")


def seed_everything(seed: int, *, deterministic: bool = True) -> None:
    """Seed Python, NumPy and TensorFlow; make TensorFlow's ops deterministic or not.

    Keras refuses XLA while op determinism is on, so a ``jit_compile`` run turns it off:
    it is seeded, but reruns may differ in the last bits.
    """
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    else:
        from tensorflow.python.framework import config as tf_config  # no public "disable"

        tf_config.disable_op_determinism()


class _Watch(keras.callbacks.Callback):
    """Stops on a non-finite loss (naming the epoch) and reports each epoch."""

    def __init__(self, label: str, on_epoch: EpochCallback | None):
        super().__init__()
        self.label = label
        self.on_epoch = on_epoch

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        logs = logs or {}
        for key in ("loss", "val_loss"):
            value = logs.get(key)
            if value is not None and not math.isfinite(value):
                raise NonFiniteLoss(
                    f"{self.label}: {key} became {value} at epoch {epoch + 1}; lower "
                    f"train.learning_rate or check the inputs"
                )
        if self.on_epoch is not None:
            self.on_epoch(epoch + 1, logs)


@dataclass
class FitResult:
    model: keras.Model
    history: pd.DataFrame  # epoch, loss, val_loss


def fit_model(
    config: ExperimentConfig,
    train: Arrays,
    validation: Arrays,
    *,
    variant: str,
    seed: int,
    label: str,
    on_epoch: EpochCallback | None = None,
) -> FitResult:
    """Build, compile and fit one model with early stopping on the validation rows.

    Args:
        config: the experiment (model, train sections are used).
        train: rows to fit on; batches are shuffled with ``seed``.
        validation: rows for early stopping (the tail of the training window).
        variant: ``"regime"``, ``"no_regime"``, ``"regime_input"``, ``"film"``, or
            ``"shuffled_regime"`` (the regime model on shuffled regimes: differs in data only).
        seed: seeds initial weights, dropout and batch order.
        label: names the model in messages, e.g. ``"fold 2, regime, seed 0"``.
        on_epoch: called after every epoch with (epoch, logs), for progress display.

    Raises:
        NonFiniteLoss: the loss became NaN or infinite; the message names ``label`` and epoch.
    """
    seed_everything(seed, deterministic=not config.train.jit_compile)
    sharpe = config.train.loss == "sharpe"
    model = build_model(
        config.model,
        window=train.window.shape[1],
        n_features=train.window.shape[2],
        n_regime=train.regime.shape[1],
        variant=model_variant(variant),
        seed=seed,
        position_output=sharpe,
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=config.train.learning_rate),
        loss=training_loss(config),
        jit_compile=config.train.jit_compile,
    )
    if bool(model.jit_compile) != config.train.jit_compile:  # Keras falls back with a warning
        raise ConfigError("train.jit_compile: this model cannot be XLA-compiled here")
    callbacks: list[keras.callbacks.Callback] = [_Watch(label, on_epoch)]
    if sharpe:
        # Before _Watch and early stopping, which read the val_loss it sets.
        callbacks.insert(0, ValidationSharpe(validation, config.train.turnover_penalty,
                                             periods_per_year=sharpe_periods(config)))
    if config.train.patience > 0:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=config.train.patience, restore_best_weights=True
            )
        )
    if sharpe:
        history = model.fit(
            ContiguousBatches(train, config.train.batch_size, seed),
            epochs=config.train.epochs, callbacks=callbacks, verbose=0,
        )
    else:
        history = model.fit(
            train.inputs(),
            train.target,
            validation_data=(validation.inputs(), validation.target),
            epochs=config.train.epochs,
            batch_size=config.train.batch_size,
            shuffle=True,
            callbacks=callbacks,
            verbose=0,
        )
    frame = pd.DataFrame(history.history)
    frame.insert(0, "epoch", np.arange(1, len(frame) + 1))
    return FitResult(model=model, history=frame)


def training_loss(config: ExperimentConfig) -> keras.losses.Loss:
    if config.train.loss == "sharpe":
        from tradenn.losses import SharpeLoss

        return SharpeLoss(periods_per_year=sharpe_periods(config),
                          turnover_penalty=config.train.turnover_penalty)
    return keras.losses.Huber() if config.train.loss == "huber" else keras.losses.MeanSquaredError()


def sharpe_periods(config: ExperimentConfig) -> float:
    """Annualization of the Sharpe loss: the config's bars per year, else daily bars'.
    (It scales the loss, not where its minimum is.)"""
    return float(config.data.bars_per_year or 252.0)


def sharpe_targets(arrays: Arrays) -> np.ndarray:
    """The Sharpe loss's ``y_true``: (n, 2), the target and whether the row continues the
    previous one's asset (where a position change counts as turnover)."""
    return np.stack([arrays.target, arrays.continues()], axis=1).astype("float32")


class ContiguousBatches(keras.utils.PyDataset):
    """Training batches for the Sharpe loss: runs of consecutive rows of one asset.

    The loss is the Sharpe ratio of a batch's strategy returns and its turnover counts
    position changes between consecutive days of an asset, so a batch is a contiguous block
    of one asset's rows (as Lim et al. 2019 train on sequences); the blocks' order is
    shuffled every epoch with the model's seed.
    """

    def __init__(self, arrays: Arrays, batch_size: int, seed: int):
        super().__init__()
        self.arrays = arrays
        self.targets = sharpe_targets(arrays)
        asset = arrays.asset if arrays.asset is not None else np.zeros(len(arrays), int)
        starts = np.flatnonzero(np.r_[True, asset[1:] != asset[:-1]])
        ends = np.r_[starts[1:], len(arrays)]
        self.blocks = [(b, min(b + batch_size, end)) for start, end in zip(starts, ends, strict=True)
                       for b in range(start, end, batch_size)]
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(self.blocks))

    def __len__(self) -> int:
        return len(self.blocks)

    def __getitem__(self, index: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
        start, end = self.blocks[self.order[index]]
        rows = slice(start, end)
        return ({"window": self.arrays.window[rows], "regime": self.arrays.regime[rows]},
                self.targets[rows])

    def on_epoch_end(self) -> None:
        self.order = self.rng.permutation(len(self.blocks))


class ValidationSharpe(keras.callbacks.Callback):
    """Sets ``val_sharpe`` (the validation rows' annualized Sharpe ratio of position x
    target, all assets' rows together) and ``val_loss`` (the Sharpe loss on those rows:
    minus it, plus the turnover penalty) after every epoch, so early stopping keeps the
    best validation Sharpe."""

    def __init__(self, validation: Arrays, turnover_penalty: float, periods_per_year: float):
        from tradenn.losses import SharpeLoss

        super().__init__()
        self.validation = validation
        self.targets = sharpe_targets(validation)
        self.sharpe = SharpeLoss(periods_per_year=periods_per_year)
        self.loss = SharpeLoss(periods_per_year=periods_per_year,
                               turnover_penalty=turnover_penalty)

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        if logs is None:
            return
        position = predict(self.model, self.validation).astype("float32")
        logs["val_sharpe"] = -float(self.sharpe(self.targets, position))
        logs["val_loss"] = float(self.loss(self.targets, position))


def model_variant(variant: str) -> str:
    """The `build_model` variant that a run's variant trains (the shuffled ablation is the
    regime model on other data)."""
    return "regime" if variant == "shuffled_regime" else variant


def predict(model: keras.Model, arrays: Arrays, batch_size: int = 1024) -> np.ndarray:
    """The model's standardized predictions for ``arrays``, shape (n,); NaN where an input is."""
    if len(arrays) == 0:
        return np.empty(0)
    output = model.predict(arrays.inputs(), batch_size=batch_size, verbose=0)
    return np.asarray(output, dtype="float64").reshape(-1)


def regime_sensitivity(
    model: keras.Model, arrays: Arrays, reference: np.ndarray, batch_size: int = 1024
) -> np.ndarray:
    """How each standardized prediction moves when the regime input is replaced by
    ``reference`` (the training rows' mean regime): ``predict(regime) - predict(reference)``.

    Zero everywhere for a model that ignores its regime input (``no_regime``).
    """
    if len(arrays) == 0:
        return np.empty(0)
    constant = np.broadcast_to(np.asarray(reference, dtype="float32"), arrays.regime.shape)
    at_reference = replace(arrays, regime=np.ascontiguousarray(constant))
    return predict(model, arrays, batch_size) - predict(model, at_reference, batch_size)


@dataclass(frozen=True)
class ModelTask:
    """Everything one model of a run needs: picklable, so it can run in a Ray worker."""

    config: ExperimentConfig
    variant: str
    seed: int
    label: str
    train: Arrays
    validation: Arrays
    test: Arrays
    regime_mean: np.ndarray  # the fit rows' mean regime, for θ sensitivity
    model_path: str
    with_theta: bool  # the main variant also reports θ per test row


@dataclass
class ModelOutcome:
    """What a trained model gives back to its fold (the model itself is saved to disk)."""

    scaled: np.ndarray  # standardized predictions of the test rows
    shift: np.ndarray  # `regime_sensitivity` of the test rows
    theta: dict[str, np.ndarray] | None
    history: pd.DataFrame


def train_model_task(task: ModelTask, on_epoch: EpochCallback | None = None) -> ModelOutcome:
    """Fit, predict, measure and save one model: the same in this process or a Ray worker.

    The model depends on its task only (seeded, deterministic ops), which is what makes a
    run with ``train.workers: 2`` give a serial run's predictions.
    """
    from tradenn.models import predict_theta
    from tradenn.plugins import import_plugins

    import_plugins(task.config.plugins)  # a fresh worker has not imported them yet
    result = fit_model(task.config, task.train, task.validation, variant=task.variant,
                       seed=task.seed, label=task.label, on_epoch=on_epoch)
    theta = predict_theta(result.model, task.test.inputs()) if task.with_theta else None
    outcome = ModelOutcome(
        scaled=predict(result.model, task.test),
        shift=regime_sensitivity(result.model, task.test, task.regime_mean),
        theta=theta,
        history=result.history,
    )
    result.model.save(task.model_path)
    return outcome
