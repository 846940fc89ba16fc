"""Fit one model on one fold's arrays, seeded, and predict with it.

Reproducibility: every model starts from ``keras.utils.set_random_seed(seed)`` with
TensorFlow's op determinism on, so a model's weights depend on its seed and data only —
not on which models were trained before it in the process. That is what lets a resumed
run give the same predictions as an uninterrupted one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

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
    model = build_model(
        config.model,
        window=train.window.shape[1],
        n_features=train.window.shape[2],
        n_regime=train.regime.shape[1],
        variant=model_variant(variant),
        seed=seed,
    )
    loss = keras.losses.Huber() if config.train.loss == "huber" else keras.losses.MeanSquaredError()
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=config.train.learning_rate),
        loss=loss,
        jit_compile=config.train.jit_compile,
    )
    if bool(model.jit_compile) != config.train.jit_compile:  # Keras falls back with a warning
        raise ConfigError("train.jit_compile: this model cannot be XLA-compiled here")
    callbacks = [_Watch(label, on_epoch)]
    if config.train.patience > 0:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=config.train.patience, restore_best_weights=True
            )
        )
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
    at_reference = Arrays(arrays.window, np.ascontiguousarray(constant), arrays.target,
                          arrays.dates)
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
