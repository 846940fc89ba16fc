"""The time loop of `RegimeLSTM`, with one analytic gradient for the whole sequence.

`lstm_sequence` runs the LSTM over a window and, with ``gradient="analytic"``, gives the
whole sequence one custom gradient (TensorFlow backend):

* forward: the input projection of every step, ``[x, 1]·[W; b]``, is one matmul before the
  loop; a step adds ``h·U``, applies the activations with θ and keeps, by reference (no
  copy), what the backward pass reads: the gates, the candidate, c_{t-1}, the cell
  activation, h_{t-1}, and the pre-activations of the sites whose θ derivative needs them
  (c_t the backward loop carries from step t + 1);
* backward: backpropagation through time written out with the families' analytic
  derivatives (`tradenn.activations.ACTIVATIONS`); a step forms dz, the gradient of the
  four blocks' pre-activations, passes ``dz·Uᵀ`` (U transposed once) and ``dc ⊙ f``
  back, and adds up the gradient of a time-constant θ in the loop's carry (a per-step θ
  keeps it per step);
* after it, over batch × time in one op each: the input kernel's and the bias' gradient
  ``[X, 1]ᵀ·dZ``, the recurrent kernel's ``H_{t-1}ᵀ·dZ``, the inputs' ``dZ·Wᵀ``.

Element-wise work stays inside the loops on purpose: one step's tensors fit in a core's
cache, and the same work done on all steps at once (``time × batch × 4·units``) was
measured slower on CPU. The gates are handled one by one (three ops on ``(batch, units)``
rather than concatenations and splits of ``(batch, 3·units)``: a concatenation along the
last axis costs several element-wise ops). For ``tanh`` and ``sigmoid`` the product of the
upstream gradient with the family's ``slope`` (``1 - y²``, ``y(1 - y)``) is TensorFlow's
TanhGrad / SigmoidGrad, the same formula in one op; any other family, or one whose
``slope`` is replaced, goes through its ``slope`` / ``dx`` / ``dtheta`` as registered.

The loop is a ``tf.while_loop`` running ``BLOCK`` steps per iteration (each iteration pays
a few ops per loop variable), with the window's remaining steps unrolled around it; or,
with ``unroll=True``, Python loops.

θ is an explicit input (one tensor per site, ``(batch, size)`` for a regime constant over
time or ``(batch, time, size)`` per step): nothing is stored on a layer, so the function is
re-entrant. ``gradient="autodiff"`` runs the same forward loop with the families' plain
functions and lets TensorFlow differentiate it (the reference the analytic one is tested
against).

No masking: every step of the window counts (the layer takes no ``mask``; a Keras mask on
its input is ignored, as it always was). Initial states are zeros.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf
from tensorflow.python.eager import record
from tensorflow.python.ops import control_flow_util

from tradenn import activations
from tradenn.activations import ActivationSpec

Tensor = Any
SITES = ("gates", "candidate", "cell")
GATES = ("i", "f", "o")
# Steps per iteration of the while loop (1 when XLA compiles it). More steps per iteration
# pay the loop's per-iteration ops less often but make a bigger graph, slower to trace for
# every fresh model (a walk-forward run builds dozens): 2 is the compromise; 4 measured a
# few percent faster per epoch and about 0.1-0.2 s slower to trace per training function.
BLOCK = 2

# Families whose slope(x, θ, y) times the upstream gradient is one TensorFlow kernel,
# keyed by the slope function itself: a family whose slope is replaced is not matched.
_FUSED: dict[Callable[..., Any], Callable[[Tensor, Tensor], Tensor]] = {
    activations._tanh_slope_at: lambda y, up: tf.raw_ops.TanhGrad(y=y, dy=up),
    activations._sigmoid_slope_at: lambda y, up: tf.raw_ops.SigmoidGrad(y=y, dy=up),
}


class PerStep:
    """Values of every step: a stacked ``(time, ...)`` tensor, a TensorArray or a list."""

    def __init__(self, values: Any):
        self.values = values

    def at(self, t: Any) -> Tensor:
        if isinstance(self.values, tf.TensorArray):
            return self.values.read(t)
        return self.values[t]  # a list item, or a slice of a stacked tensor (no copy)

    def stacked(self) -> Tensor:
        if isinstance(self.values, tf.TensorArray):
            return self.values.stack()
        if isinstance(self.values, list):
            return tf.stack(self.values)
        return self.values


def per_step(values: Tensor, steps: Any, unroll: bool) -> PerStep:
    """A time-major tensor read one step at a time (unstacked once when unrolled)."""
    return PerStep(tf.unstack(values, num=steps) if unroll else values)


StepFn = Callable[[Any, list[Tensor]], tuple[list[Tensor], dict[str, Tensor]]]


def time_loop(step: StepFn, carry: list[Tensor], outs: dict[str, Any], n: Any, *,
              reverse: bool = False, unroll: bool = False,
              block: int = BLOCK) -> tuple[list[Tensor], dict[str, PerStep]]:
    """Run ``carry, ys = step(t, carry)`` over the steps, keeping each step's ys.

    Args:
        step: the step; it reads its own inputs (``PerStep.at(t)``).
        carry: loop state, passed from step to step.
        outs: name → dtype of each per-step output ``ys[name]``.
        n: number of steps (a Python int, or a scalar tensor when not unrolled).
        reverse: run from the last step to the first.
        unroll: Python loop (needs a Python int ``n``) instead of ``tf.while_loop``.
        block: steps per iteration of the ``tf.while_loop`` when ``n`` is known; the
            ``n % block`` steps left over run unrolled after it (before it, reversed).
            Under XLA (``jit_compile``) one step per iteration, which it runs faster.

    Returns:
        The last carry and every output, by step.
    """
    known = isinstance(n, int)
    if unroll or (known and n <= block):
        kept: dict[str, list[Any]] = {name: [None] * n for name in outs}
        for t in range(n - 1, -1, -1) if reverse else range(n):
            carry, ys = step(t, carry)
            for name, value in ys.items():
                kept[name][t] = value
        return carry, {name: PerStep(values) for name, values in kept.items()}
    names = list(outs)
    arrays = [tf.TensorArray(outs[name], size=n, clear_after_read=False) for name in names]
    xla = control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph())
    block = block if known and not xla else 1
    loops = n // block if known else n
    left = list(range(loops * block, n)) if known else []

    def run(ts: list[Any], carry: list[Tensor], arrays: list[Any]) -> tuple:
        for t in ts:
            carry, ys = step(t, carry)
            arrays = [a.write(t, ys[name]) for a, name in zip(arrays, names, strict=True)]
        return carry, arrays

    if reverse and left:
        carry, arrays = run(left[::-1], carry, arrays)

    def body(b: Tensor, carry: list[Tensor], arrays: list[Any]) -> tuple:
        first = b * block if block > 1 else b
        offsets = range(block - 1, -1, -1) if reverse else range(block)
        carry, arrays = run([first + j if j else first for j in offsets], carry, arrays)
        return (b - 1 if reverse else b + 1), carry, arrays

    _, carry, arrays = tf.while_loop(
        (lambda b, *_: b >= 0) if reverse else (lambda b, *_: b < loops),
        body, (tf.convert_to_tensor(loops - 1 if reverse else 0), list(carry), arrays),
        maximum_iterations=loops,
    )
    carry = list(carry)
    if left and not reverse:
        carry, arrays = run(left, carry, arrays)
    return carry, {name: PerStep(a) for name, a in zip(names, arrays, strict=True)}


class _Site:
    """One activation of the step: its family and θ (None: the family's default).

    θ here is per unit of this activation: ``(batch, units)`` for a regime constant over
    time (broadcast once, so no product in the loop broadcasts), or time-major
    ``(time, batch, size)`` read one step at a time.
    """

    def __init__(self, spec: ActivationSpec, theta: Tensor | None, per_step_theta: bool,
                 units: int, batch: Tensor, steps: Any, unroll: bool):
        self.spec = spec
        self.given = theta is not None
        self.per_step = per_step_theta
        self.fused = _FUSED.get(spec.slope) if spec.slope is not None else None
        # The pre-activation is kept for the backward pass when a derivative reads it.
        self.needs_x = self.given or self.fused is None
        self.theta: Any = spec.default
        if theta is None:
            pass
        elif per_step_theta:
            self.theta = per_step(theta, steps, unroll)
        else:
            self.theta = tf.broadcast_to(theta, (batch, units)) if theta.shape[-1] == 1 else theta

    def theta_at(self, t: Any) -> Any:
        return self.theta.at(t) if self.given and self.per_step else self.theta

    def fn(self, x: Tensor, t: Any) -> Tensor:
        return self.spec.fn(x, self.theta_at(t))

    def grads(self, upstream: Tensor, x: Tensor | None, y: Tensor,
              t: Any) -> tuple[Tensor, Tensor | None]:
        """(∂L/∂x, ∂L/∂θ per element, or None without a θ input) from f's upstream
        gradient, with the family's derivatives at step t."""
        spec, theta = self.spec, self.theta_at(t)
        if spec.slope is not None:  # φ(θ·x): one product with φ' serves both derivatives
            g = self.fused(y, upstream) if self.fused else upstream * spec.slope(x, theta, y)
            dx = g if not self.given and theta == 1.0 else g * theta
            return dx, (g * x if self.given else None)
        dx = upstream * spec.dx(x, theta, y)
        return dx, (upstream * spec.dtheta(x, theta, y) if self.given else None)


def lstm_sequence(
    x: Tensor,
    kernel: Tensor,
    recurrent_kernel: Tensor,
    bias: Tensor,
    thetas: dict[str, Tensor],
    *,
    activation: ActivationSpec,
    recurrent_activation: ActivationSpec,
    return_sequences: bool,
    gradient: str = "analytic",
    unroll: bool = False,
) -> Tensor:
    """The LSTM of `RegimeLSTM` over a whole window.

    Args:
        x: inputs ``(batch, time, features)``, in the compute dtype.
        kernel: ``(features, 4 units)``, gate blocks i, f, o, c.
        recurrent_kernel: ``(units, 4 units)``.
        bias: ``(4 units,)``.
        thetas: θ of ``"candidate"`` and ``"cell"`` and, if the gates are conditioned,
            ``"gates"``; each ``(batch, size)`` or, all of them, ``(batch, time, size)``,
            with size 1 or the site's width (units; 3 units for the gates).
        activation: family of the candidate and the cell.
        recurrent_activation: family of the gates.
        return_sequences: return h of every step ``(batch, time, units)``, else the last
            ``(batch, units)``.
        gradient: ``"analytic"``: one hand-written backward pass for the sequence;
            ``"autodiff"``: TensorFlow differentiates the loop.
        unroll: Python loops instead of ``tf.while_loop`` (needs a known window length).

    Returns:
        h of the last step or of every step.
    """
    names = [site for site in SITES if site in thetas]

    # Without a gradient tape (predicting, validating) nothing will ask for a gradient:
    # the forward pass then keeps nothing. (Should a gradient be taken some other way, it
    # is TensorFlow's own through the plain loop: correct, only slower.)
    analytic = gradient == "analytic" and record.could_possibly_record()

    def run(x: Tensor, kernel: Tensor, recurrent: Tensor, bias: Tensor, *theta_list: Tensor):
        loop = _Loop(x, kernel, recurrent, bias, dict(zip(names, theta_list, strict=True)),
                     activation, recurrent_activation, return_sequences, unroll)
        if not analytic:
            return loop.forward(keep=False)
        return loop.forward(keep=True), loop.backward

    if analytic:
        run = tf.custom_gradient(run)
    # Tensors, not variables: a variable read inside a custom gradient's function would
    # need its gradient returned through a ``variables`` argument instead.
    inputs = [x, kernel, recurrent_kernel, bias, *(thetas[site] for site in names)]
    return run(*(tf.convert_to_tensor(t) for t in inputs))


class _Loop:
    """One call's forward loop and, for the analytic gradient, its backward loop."""

    def __init__(self, x: Tensor, kernel: Tensor, recurrent: Tensor, bias: Tensor,
                 thetas: dict[str, Tensor], activation: ActivationSpec,
                 recurrent_activation: ActivationSpec, return_sequences: bool, unroll: bool):
        self.units = units = int(recurrent.shape[0])
        self.kernel, self.recurrent, self.bias = kernel, recurrent, bias
        self.thetas = thetas
        self.return_sequences, self.unroll = return_sequences, unroll
        self.dtype = x.dtype
        self.steps = x.shape[1] if x.shape[1] is not None else tf.shape(x)[1]
        self.batch = tf.shape(x)[0]
        per_step_theta = len(thetas["cell"].shape) == 3
        tm = {name: tf.transpose(t, (1, 0, 2)) if per_step_theta else t
              for name, t in thetas.items()}
        gate_thetas: list[Any] = [None] * 3
        if "gates" in tm:
            gates = tm["gates"]
            gate_thetas = tf.split(gates, 3, axis=-1) if gates.shape[-1] != 1 else [gates] * 3

        def site(spec: ActivationSpec, theta: Tensor | None) -> _Site:
            return _Site(spec, theta, per_step_theta, units, self.batch, self.steps, unroll)

        self.sites = {name: site(recurrent_activation, theta)
                      for name, theta in zip(GATES, gate_thetas, strict=True)}
        self.sites["candidate"] = site(activation, tm["candidate"])
        self.sites["cell"] = site(activation, tm["cell"])
        # [x, 1] time-major, flattened: one matmul with [W; b] projects every step.
        n_features = int(x.shape[-1])
        x_flat = tf.reshape(tf.transpose(x, (1, 0, 2)), (-1, n_features))
        self.x1 = tf.concat([x_flat, tf.ones_like(x_flat[:, :1])], axis=-1)

    def forward(self, keep: bool) -> Tensor:
        """h of the last or every step; with ``keep``, records what `backward` reads."""
        units, sites = self.units, self.sites
        i_site, f_site, o_site = (sites[name] for name in GATES)
        candidate, cell = sites["candidate"], sites["cell"]
        weights = tf.concat([self.kernel, self.bias[None]], axis=0)
        xz = tf.reshape(tf.matmul(self.x1, weights), (self.steps, self.batch, 4 * units))
        xz = per_step(xz, self.steps, self.unroll)
        recurrent = self.recurrent

        # What the backward pass reads of a step, each in its own TensorArray (by reference:
        # stacking them into one tensor per step costs a copy that was measured dearer than
        # the loop variables it saves). c_t itself is not kept: the backward loop, running
        # from the last step, has it from step t + 1 (and the last one from here).
        self.record = ["i", "f", "o", "g", "a", "c_prev"] + [
            f"z_{name}" for name in (*GATES, "candidate") if sites[name].needs_x]

        def step(t: Any, carry: list[Tensor]) -> tuple[list[Tensor], dict[str, Tensor]]:
            h_prev, c_prev = carry
            z = xz.at(t) + tf.matmul(h_prev, recurrent)
            z_i, z_f, z_o, z_c = tf.split(z, 4, axis=-1)
            i, f, o = i_site.fn(z_i, t), f_site.fn(z_f, t), o_site.fn(z_o, t)
            g = candidate.fn(z_c, t)
            c = f * c_prev + i * g
            a = cell.fn(c, t)
            h = o * a
            ys = {"h": h} if self.return_sequences else {}
            if keep:
                values = {"i": i, "f": f, "o": o, "g": g, "a": a, "c_prev": c_prev,
                          "z_i": z_i, "z_f": z_f, "z_o": z_o, "z_candidate": z_c}
                ys.update({name: values[name] for name in self.record}, h_prev=h_prev)
            return [h, c], ys

        zeros = tf.zeros((self.batch, units), self.dtype)
        record = (["h"] if self.return_sequences else []) + (
            [*self.record, "h_prev"] if keep else [])
        (h_last, self.c_last), self.kept = time_loop(
            step, [zeros, zeros], dict.fromkeys(record, self.dtype), self.steps,
            unroll=self.unroll)
        if self.return_sequences:
            return tf.transpose(self.kept["h"].stacked(), (1, 0, 2))
        return h_last

    def backward(self, upstream: Tensor) -> tuple[Tensor, ...]:
        """Gradients of x, the kernel, the recurrent kernel, the bias, each given θ."""
        units, sites, kept = self.units, self.sites, self.kept
        i_site, f_site, o_site = (sites[name] for name in GATES)
        candidate, cell = sites["candidate"], sites["cell"]
        given = [name for name, site in sites.items() if site.given]
        summed = [name for name in given if not sites[name].per_step]
        stepped = [name for name in given if sites[name].per_step]
        dy = (per_step(tf.transpose(upstream, (1, 0, 2)), self.steps, self.unroll)
              if self.return_sequences else None)
        recurrent_t = tf.transpose(self.recurrent)  # once: faster than transpose_b per step

        def step(t: Any, carry: list[Tensor]) -> tuple[list[Tensor], dict[str, Tensor]]:
            dh, dc_next, c, *sums = carry
            if dy is not None:
                dh = dh + dy.at(t)
            i, f, o, g, a, c_prev = (kept[name].at(t) for name in self.record[:6])

            def z_of(name: str) -> Tensor | None:
                return kept[f"z_{name}"].at(t) if sites[name].needs_x else None

            dx_cell, e_cell = cell.grads(dh * o, c, a, t)
            dc = dx_cell + dc_next
            dz_i, e_i = i_site.grads(dc * g, z_of("i"), i, t)
            dz_f, e_f = f_site.grads(dc * c_prev, z_of("f"), f, t)
            dz_o, e_o = o_site.grads(dh * a, z_of("o"), o, t)
            dz_c, e_c = candidate.grads(dc * i, z_of("candidate"), g, t)
            dz = tf.concat([dz_i, dz_f, dz_o, dz_c], axis=-1)
            e = {"i": e_i, "f": e_f, "o": e_o, "candidate": e_c, "cell": e_cell}
            sums = [total + e[name] for total, name in zip(sums, summed, strict=True)]
            ys = {"dz": dz, **{f"e_{name}": e[name] for name in stepped}}
            return [tf.matmul(dz, recurrent_t), dc * f, c_prev, *sums], ys

        zeros = tf.zeros((self.batch, units), self.dtype)
        carry = [zeros if self.return_sequences else upstream, zeros, self.c_last]
        carry += [zeros for _ in summed]
        outs = dict.fromkeys(["dz", *(f"e_{name}" for name in stepped)], self.dtype)
        carry, got = time_loop(step, carry, outs, self.steps, reverse=True,
                               unroll=self.unroll)

        # After the loop: each weight's gradient in one op over all steps.
        dz_all = tf.reshape(got["dz"].stacked(), (-1, 4 * units))
        h_prev = tf.reshape(kept["h_prev"].stacked(), (-1, units))
        grad_kernel_bias = tf.matmul(self.x1, dz_all, transpose_a=True)
        n_features = int(self.kernel.shape[0])
        grads = [
            tf.transpose(tf.reshape(tf.matmul(dz_all, self.kernel, transpose_b=True),
                                    (self.steps, self.batch, n_features)), (1, 0, 2)),
            grad_kernel_bias[:n_features],
            tf.matmul(h_prev, dz_all, transpose_a=True),
            grad_kernel_bias[n_features],
        ]
        # θ: per element (batch, units) summed over time, or (time, batch, units) per step.
        per_element = dict(zip(summed, carry[3:], strict=True))
        per_element.update({name: got[f"e_{name}"].stacked() for name in stepped})
        for name in SITES:
            if name not in self.thetas:
                continue
            parts = [per_element[g] for g in GATES] if name == "gates" else [per_element[name]]
            if self.thetas[name].shape[-1] == 1:
                grad = tf.add_n([tf.reduce_sum(p, axis=-1, keepdims=True) for p in parts])
            else:
                grad = tf.concat(parts, axis=-1) if len(parts) > 1 else parts[0]
            grads.append(tf.transpose(grad, (1, 0, 2)) if len(grad.shape) == 3 else grad)
        return tuple(grads)
