"""Training throughput of the regime layers against Keras' built-in layers.

Trains, in one process and interleaved (A, B, C, A, B, C, ...), on the same data:

* ``RegimeLSTM`` against ``keras.layers.LSTM`` of the same size (both with a Dense(1) head)
  and against the step-by-step RegimeLSTM it replaced (``tests/stepwise_regime_lstm.py``,
  a cell inside ``keras.layers.RNN``), at each ``--shapes`` entry;
* a Dense + ``RegimeActivation`` stack against the same stack with a built-in activation;

and prints samples/second (median of the repeats; one epoch per repeat, after a warm-up
epoch that pays for tracing) and the ratio of RegimeLSTM's speed to the other's (median
over the repeats of epochs run back to back), with and without ``jit_compile``. The models
of a group see the same random data: throughput does not depend on the values.

    .venv/bin/python scripts/bench_layers.py                 # defaults: a few minutes
    .venv/bin/python scripts/bench_layers.py --shapes 20x5x32 --repeats 21 --jit off
    .venv/bin/python scripts/bench_layers.py --only lstm --unroll regime
    .venv/bin/python scripts/bench_layers.py --threads 1 --clock cpu   # on a busy machine
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tradenn.layers import RegimeActivation, RegimeLSTM  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from stepwise_regime_lstm import StepwiseRegimeLSTM  # noqa: E402

Builder = Callable[[argparse.Namespace], keras.Model]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", type=int, default=8192, help="training rows per epoch")
    p.add_argument("--shapes", default="20x5x32,64x16x64",
                   help="LSTM shapes, window x features x units, comma-separated")
    p.add_argument("--regime", type=int, default=2, help="regime width R")
    p.add_argument("--dense-units", type=int, default=64, help="units of each Dense layer")
    p.add_argument("--dense-layers", type=int, default=2, help="Dense + activation blocks")
    p.add_argument("--batch", type=int, default=128, help="batch size")
    p.add_argument("--repeats", type=int, default=15, help="timed epochs per model (median)")
    p.add_argument("--threads", type=int, default=0,
                   help="TensorFlow intra/inter-op threads (0: TensorFlow's default)")
    p.add_argument("--jit", choices=["both", "on", "off"], default="both")
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="wall time, or this process's CPU time (steadier on a busy machine; "
                        "use with --threads 1, where CPU time is the time worked)")
    p.add_argument("--only", choices=["all", "lstm", "dense"], default="all")
    p.add_argument("--no-stepwise", action="store_true",
                   help="leave out the step-by-step RegimeLSTM")
    p.add_argument("--unroll", choices=["none", "both", "regime"], default="none",
                   help="unroll the time loop of all LSTMs, or of the RegimeLSTMs only")
    p.add_argument("--gradient", choices=["analytic", "autodiff"], default="analytic")
    p.add_argument("--mapping", default="affine", help="mapping of the regime layers")
    p.add_argument("--condition-gates", action="store_true")
    p.add_argument("--per-step-regime", action="store_true",
                   help="regime of shape (batch, time, R) instead of (batch, R)")
    args = p.parse_args()
    args.shapes = [tuple(int(n) for n in shape.split("x")) for shape in args.shapes.split(",")]
    args.window, args.features, args.units = args.shapes[0]
    return args


def make_data(args: argparse.Namespace) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    regime_shape = (args.samples, args.window, args.regime) if args.per_step_regime else (
        args.samples, args.regime)
    return {
        "window": rng.normal(size=(args.samples, args.window, args.features)).astype("float32"),
        "regime": rng.normal(size=regime_shape).astype("float32"),
    }


def inputs(args: argparse.Namespace) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    regime_shape = (args.window, args.regime) if args.per_step_regime else (args.regime,)
    return (keras.Input((args.window, args.features), name="window"),
            keras.Input(regime_shape, name="regime"))


def lstm_builtin(args: argparse.Namespace) -> keras.Model:
    x, r = inputs(args)
    h = keras.layers.LSTM(args.units, unroll=args.unroll == "both")(x)
    return keras.Model({"window": x, "regime": r}, keras.layers.Dense(1)(h))


def _regime_lstm(cls: type) -> Builder:
    def build(args: argparse.Namespace) -> keras.Model:
        x, r = inputs(args)
        h = cls(args.units, mapping=args.mapping, gradient=args.gradient,
                condition_gates=args.condition_gates, unroll=args.unroll != "none")(x, r)
        return keras.Model({"window": x, "regime": r}, keras.layers.Dense(1)(h))

    return build


lstm_regime = _regime_lstm(RegimeLSTM)
lstm_stepwise = _regime_lstm(StepwiseRegimeLSTM)


def dense_builtin(args: argparse.Namespace) -> keras.Model:
    x, r = inputs(args)
    h = keras.layers.Flatten()(x)
    for _ in range(args.dense_layers):
        h = keras.layers.Dense(args.dense_units, activation="silu")(h)
    return keras.Model({"window": x, "regime": r}, keras.layers.Dense(1)(h))


def dense_regime(args: argparse.Namespace) -> keras.Model:
    x, r = inputs(args)
    h = keras.layers.Flatten()(x)
    for _ in range(args.dense_layers):
        h = keras.layers.Dense(args.dense_units)(h)
        h = RegimeActivation("swish", mapping=args.mapping, gradient=args.gradient)(h, r)
    return keras.Model({"window": x, "regime": r}, keras.layers.Dense(1)(h))


class EpochTimer(keras.callbacks.Callback):
    """Time of each epoch, excluding fit()'s set-up before the first batch."""

    def __init__(self, clock: Callable[[], float]) -> None:
        super().__init__()
        self.clock = clock
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = self.clock()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.seconds.append(self.clock() - self._start)


def bench_group(
    builders: dict[str, Builder],
    args: argparse.Namespace,
    data: dict[str, np.ndarray],
    jit: bool,
) -> dict[str, list[float]]:
    """Seconds of each timed epoch of each model, the models' epochs interleaved.

    A repeat runs one epoch of every model back to back: other load on the machine shifts
    them alike, so per-repeat ratios are steadier than ratios of medians.
    """
    target = np.random.default_rng(1).normal(size=(args.samples, 1)).astype("float32")
    models, timers = {}, {}
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    for name, build in builders.items():
        keras.utils.set_random_seed(0)
        model = build(args)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse", jit_compile=jit)
        model.fit(data, target, batch_size=args.batch, epochs=1, verbose=0)  # trace, warm up
        models[name], timers[name] = model, EpochTimer(clock)
    for _ in range(args.repeats):
        for name, model in models.items():
            model.fit(data, target, batch_size=args.batch, epochs=1, verbose=0,
                      callbacks=[timers[name]], shuffle=True)
    return {name: timer.seconds for name, timer in timers.items()}


def report(label: str, jit: bool, seconds: dict[str, list[float]], ours: str,
           samples: int) -> None:
    """One line per reference: samples/s of both, and ours / reference (per repeat)."""
    speed = {name: samples / statistics.median(s) for name, s in seconds.items()}
    for name, times in seconds.items():
        if name == ours:
            continue
        ratios = [t / o for t, o in zip(times, seconds[ours], strict=True)]
        spread = f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"
        print(f"{label:<14} {str(jit):<5} {name:<26} {speed[name]:>10,.0f} "
              f"{speed[ours]:>10,.0f} {spread:>20}", flush=True)


def main() -> None:
    args = parse_args()
    if args.threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    jits = {"both": [False, True], "on": [True], "off": [False]}[args.jit]
    print(f"samples={args.samples} batch={args.batch} dense={args.dense_layers}x"
          f"{args.dense_units} mapping={args.mapping} gradient={args.gradient} "
          f"gates={args.condition_gates} unroll={args.unroll} per_step={args.per_step_regime} "
          f"threads={args.threads or 'default'} clock={args.clock} repeats={args.repeats}")
    print(f"{'case':<14} {'jit':<5} {'against':<26} {'it (sam/s)':>10} {'ours':>10} "
          f"{'ours / it: median (min-max)':>20}")
    if args.only in ("all", "lstm"):
        for shape in args.shapes:
            args.window, args.features, args.units = shape
            data = make_data(args)
            builders = {"keras.layers.LSTM": lstm_builtin}
            if not args.no_stepwise:
                builders["step-by-step RegimeLSTM"] = lstm_stepwise
            builders["RegimeLSTM"] = lstm_regime
            for jit in jits:
                seconds = bench_group(builders, args, data, jit)
                report("lstm " + "x".join(map(str, shape)), jit, seconds, "RegimeLSTM",
                       args.samples)
    if args.only in ("all", "dense") and not args.per_step_regime:
        args.window, args.features, args.units = args.shapes[0]
        data = make_data(args)
        builders = {"Dense + silu": dense_builtin, "Dense + RegimeActivation": dense_regime}
        for jit in jits:
            report("dense", jit, bench_group(builders, args, data, jit),
                   "Dense + RegimeActivation", args.samples)


if __name__ == "__main__":
    main()
