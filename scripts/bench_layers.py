"""Training throughput of the regime layers against Keras' built-in layers.

Trains, in one process and interleaved (A, B, A, B, ...), on the same data:

* ``RegimeLSTM`` against ``keras.layers.LSTM`` of the same size (both with a Dense(1) head);
* a Dense + ``RegimeActivation`` stack against the same stack with a built-in activation;

and prints samples/second (median of the repeats; one epoch per repeat, after a warm-up
epoch that pays for tracing) and the ratio regime / built-in (median over the repeats of
back-to-back epochs), with and without ``jit_compile``. Both models of a pair see the same
random data: throughput does not depend on the values.

    .venv/bin/python scripts/bench_layers.py                 # defaults: about a minute
    .venv/bin/python scripts/bench_layers.py --units 64 --repeats 21 --jit off
    .venv/bin/python scripts/bench_layers.py --only lstm --unroll regime
    .venv/bin/python scripts/bench_layers.py --threads 1 --clock cpu   # on a busy machine
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tradenn.layers import RegimeActivation, RegimeLSTM  # noqa: E402


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", type=int, default=8192, help="training rows per epoch")
    p.add_argument("--window", type=int, default=20, help="time steps per window")
    p.add_argument("--features", type=int, default=5, help="features per step")
    p.add_argument("--regime", type=int, default=2, help="regime width R")
    p.add_argument("--units", type=int, default=32, help="LSTM units")
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
    p.add_argument("--unroll", choices=["none", "both", "regime"], default="none",
                   help="unroll the time loop of both LSTMs, or of RegimeLSTM only")
    p.add_argument("--gradient", choices=["analytic", "autodiff"], default="analytic")
    p.add_argument("--mapping", default="affine", help="mapping of the regime layers")
    p.add_argument("--condition-gates", action="store_true")
    p.add_argument("--per-step-regime", action="store_true",
                   help="regime of shape (batch, time, R) instead of (batch, R)")
    return p.parse_args()


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


def lstm_regime(args: argparse.Namespace) -> keras.Model:
    x, r = inputs(args)
    h = RegimeLSTM(args.units, mapping=args.mapping, gradient=args.gradient,
                   condition_gates=args.condition_gates, unroll=args.unroll != "none")(x, r)
    return keras.Model({"window": x, "regime": r}, keras.layers.Dense(1)(h))


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


def bench_pair(
    builders: dict[str, Callable[[argparse.Namespace], keras.Model]],
    args: argparse.Namespace,
    data: dict[str, np.ndarray],
    jit: bool,
) -> tuple[dict[str, float], list[float]]:
    """Median samples/second of each model and the per-repeat ratios second / first.

    Epochs are interleaved across the models, so a repeat's ratio compares two epochs run
    back to back: other load on the machine shifts both, and the median ratio is steadier
    than the ratio of medians.
    """
    target = np.random.default_rng(1).normal(size=(args.samples, 1)).astype("float32")
    models, timers = {}, {}
    for name, build in builders.items():
        keras.utils.set_random_seed(0)
        model = build(args)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse", jit_compile=jit)
        model.fit(data, target, batch_size=args.batch, epochs=1, verbose=0)  # trace, warm up
        clock = time.process_time if args.clock == "cpu" else time.perf_counter
        models[name], timers[name] = model, EpochTimer(clock)
    for _ in range(args.repeats):
        for name, model in models.items():
            model.fit(data, target, batch_size=args.batch, epochs=1, verbose=0,
                      callbacks=[timers[name]], shuffle=True)
    base, other = (timers[name].seconds for name in builders)
    ratios = [b / o for b, o in zip(base, other, strict=True)]
    speeds = {name: args.samples / statistics.median(t.seconds) for name, t in timers.items()}
    return speeds, ratios


def main() -> None:
    args = parse_args()
    if args.threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    data = make_data(args)
    pairs = {
        "lstm": {"keras LSTM": lstm_builtin, "RegimeLSTM": lstm_regime},
        "dense": {"Dense + silu": dense_builtin, "Dense + RegimeActivation": dense_regime},
    }
    if args.per_step_regime:  # a flattened window has no time axis to match
        args.only = "lstm"
    if args.only != "all":
        pairs = {args.only: pairs[args.only]}
    jits = {"both": [False, True], "on": [True], "off": [False]}[args.jit]
    print(f"samples={args.samples} batch={args.batch} window={args.window} "
          f"features={args.features} units={args.units} dense={args.dense_layers}x"
          f"{args.dense_units} mapping={args.mapping} gradient={args.gradient} "
          f"gates={args.condition_gates} unroll={args.unroll} per_step={args.per_step_regime} "
          f"threads={args.threads or 'default'} clock={args.clock} repeats={args.repeats}")
    print(f"{'pair':<6} {'jit':<5} {'built-in (samples/s)':>22} {'regime (samples/s)':>20} "
          f"{'ratio (median, min-max of repeats)':>36}")
    for pair, builders in pairs.items():
        for jit in jits:
            speeds, ratios = bench_pair(builders, args, data, jit)
            builtin, regime = speeds.values()
            spread = f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"
            print(f"{pair:<6} {str(jit):<5} {builtin:>22,.0f} {regime:>20,.0f} {spread:>36}",
                  flush=True)


if __name__ == "__main__":
    main()
