"""Trading losses: the model's output is a position, the loss scores the strategy it makes.

`SharpeLoss` is the loss of Deep Momentum Networks (Lim, Zohren & Roberts 2019, "Enhancing
Time Series Momentum Strategies Using Deep Neural Networks", arXiv:1904.04912): the
negative annualized Sharpe ratio of the batch's strategy returns, optionally plus a penalty
on turnover. Like `tradenn.layers`, this module knows nothing of pandas, files or configs.
"""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

from tradenn.errors import ConfigError


@keras.saving.register_keras_serializable(package="tradenn")
class SharpeLoss(keras.losses.Loss):
    """Negative annualized Sharpe ratio of ``position x return`` over the batch.

    With ``s = y_pred * r`` (one strategy return per row)::

        sharpe   = mean(s) / sqrt(var(s) + epsilon) * sqrt(periods_per_year)
        turnover = sum_{i>=1} |pos_i - pos_{i-1}| * continues_i
                   / max(sum_{i>=1} continues_i, 1)
        loss     = -sharpe + turnover_penalty * turnover

    ``var`` is the population variance (divides by the batch size, as in Lim et al.'s code),
    computed as the mean squared deviation from the mean rather than ``E[s²] - E[s]²``,
    which can come out negative in float32.

    The loss is one number for the whole batch, not a mean of per-row losses: the Sharpe
    ratio is a batch statistic. ``call`` returns that scalar, which every Keras reduction
    passes through unchanged, so ``model.fit``/``evaluate`` report exactly the formula for
    each batch (and, over several batches, Keras's batch-size-weighted mean of them).
    ``reduction`` is accepted for Keras compatibility and has no effect.

    A batch of one row has no variance: its Sharpe ratio is defined as 0 (loss 0, zero
    gradient). The formula would give ``r * pos * sqrt(periods_per_year / epsilon)``, about
    5e5 times the return, and a one-row last batch of an epoch would then throw the
    weights far off.

    Args:
        periods_per_year: rows per year of the returns (252 for daily bars); annualizes.
        turnover_penalty: weight of the turnover term (>= 0); 0 leaves the pure Sharpe loss.
        epsilon: added to the variance so a constant strategy gives a finite loss (> 0).
        name: the loss's name.
        reduction: accepted for Keras compatibility; the loss is already a scalar.
        dtype: dtype of the computation; defaults to ``keras.backend.floatx()``.

    Call arguments:
        y_true: shape ``(batch, 2)``: column 0 the next-period (volatility-scaled) return
            ``r``, column 1 ``continues``: 1 when the row is the next period of the same
            asset as the previous row of the batch, else 0 (rows of an asset arrive in
            time order). Shape ``(batch, 1)`` or ``(batch,)`` holds ``r`` alone, and every
            row then continues the previous one.
        y_pred: positions in [-1, 1] (a tanh head), shape ``(batch, 1)`` or ``(batch,)``.
        sample_weight: not supported (a ConfigError): a per-row weight has no meaning for
            a batch statistic, and Keras would multiply the Sharpe ratio by the weights'
            mean. Drop rows instead of weighting them.

    Example:
        >>> model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1, "tanh")])
        >>> model.compile("adam", loss=SharpeLoss(turnover_penalty=0.1))
        >>> model.fit(x, np.stack([r, continues], axis=1), shuffle=False)
    """

    def __init__(
        self,
        periods_per_year: float = 252.0,
        turnover_penalty: float = 0.0,
        epsilon: float = 1e-9,
        name: str = "sharpe_loss",
        reduction: str | None = "sum_over_batch_size",
        dtype: Any = None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        _require(periods_per_year > 0, "periods_per_year", "> 0", periods_per_year)
        _require(turnover_penalty >= 0, "turnover_penalty", ">= 0", turnover_penalty)
        _require(epsilon > 0, "epsilon", "> 0", epsilon)
        self.periods_per_year = float(periods_per_year)
        self.turnover_penalty = float(turnover_penalty)
        self.epsilon = float(epsilon)

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        if sample_weight is not None:
            raise ConfigError(
                f"{self.name}: sample_weight is not supported (the Sharpe ratio is a batch "
                "statistic, not a mean of per-row losses); expected None, got "
                f"{type(sample_weight).__name__}"
            )
        return super().__call__(y_true, y_pred)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        returns, continues = split_target(y_true, self.name)
        positions = _flat_positions(y_pred, self.name)
        sizes = (returns.shape[0], positions.shape[0])
        if None not in sizes and sizes[0] != sizes[1]:
            raise ConfigError(
                f"{self.name}: y_true and y_pred must have the same batch size; got "
                f"{sizes[0]} and {sizes[1]}"
            )
        strategy = positions * returns
        mean = ops.mean(strategy)
        variance = ops.mean(ops.square(strategy - mean))
        sharpe = mean / ops.sqrt(variance + self.epsilon) * math.sqrt(self.periods_per_year)
        rows = ops.sum(ops.ones_like(strategy))
        sharpe = ops.where(rows >= 2, sharpe, ops.zeros_like(sharpe))
        loss = -sharpe
        if self.turnover_penalty:
            loss = loss + self.turnover_penalty * turnover(positions, continues)
        return loss

    def get_config(self) -> dict[str, Any]:
        return {
            "periods_per_year": self.periods_per_year,
            "turnover_penalty": self.turnover_penalty,
            "epsilon": self.epsilon,
            "name": self.name,
            "reduction": self.reduction,
            "dtype": self._dtype_policy.name,
        }


def turnover(positions: Any, continues: Any) -> Any:
    """Mean absolute position change between consecutive rows of the same asset.

    ``sum_{i>=1} |pos_i - pos_{i-1}| * continues_i / max(sum_{i>=1} continues_i, 1)``:
    a row whose ``continues`` is 0 starts a new asset (or a gap), and the jump into it is
    not trading. 0 for a batch of one row.
    """
    flags = continues[1:]
    moved = ops.sum(ops.abs(positions[1:] - positions[:-1]) * flags)
    return moved / ops.maximum(ops.sum(flags), 1.0)


def split_target(y_true: Any, name: str = "SharpeLoss") -> tuple[Any, Any]:
    """``(returns, continues)``, each of shape (batch,), from y_true of shape (batch, 2),
    (batch, 1) or (batch,); a y_true without the flag continues on every row."""
    shape = tuple(y_true.shape)
    if len(shape) == 1 or (len(shape) == 2 and shape[1] == 1):
        returns = ops.reshape(y_true, (-1,))
        return returns, ops.ones_like(returns)
    if len(shape) == 2 and shape[1] == 2:
        return y_true[:, 0], y_true[:, 1]
    raise ConfigError(
        f"{name}: y_true must have shape (batch, 2) [return, continues], (batch, 1) or "
        f"(batch,); got {shape}"
    )


def _flat_positions(y_pred: Any, name: str) -> Any:
    shape = tuple(y_pred.shape)
    if len(shape) == 1 or (len(shape) == 2 and shape[1] == 1):
        return ops.reshape(y_pred, (-1,))
    raise ConfigError(
        f"{name}: y_pred (the positions) must have shape (batch, 1) or (batch,); got {shape}"
    )


def _require(ok: bool, argument: str, expected: str, got: Any) -> None:
    if not ok:
        raise ConfigError(f"SharpeLoss: {argument} must be {expected}; got {got!r}")
