"""Parametric activation families f(x, θ) with analytic derivatives, on ``keras.ops``.

Each family is an `ActivationSpec` in the `ACTIVATIONS` registry: the function, its
derivatives ∂f/∂x and ∂f/∂θ written out by hand, the valid range of θ and a default θ at
which the family is the usual activation (θ = 1 for all but ``leaky_relu``).

`apply` evaluates a family with its analytic derivatives wired in through
``keras.ops.custom_gradient``, so they are the gradients Keras trains with (unlike
hand-written backward functions that nothing calls). ``gradient="autodiff"`` differentiates
``fn`` instead, for comparison.

Kinks: at x = 0 the piecewise families (``scaled_relu``, ``leaky_relu``, ``elu``) use the
derivative of their x ≤ 0 branch, the convention of TensorFlow's own relu gradients.

Families of your own: `register_activation` adds one to the registry (from a plugin module
or a notebook) and `check_activation` compares its derivatives with finite differences;
training with ``gradient: analytic`` runs that check once per family per process.

Stability: no family overflows or returns NaN in float32 for |x| = 100 and large θ.
``elu`` exponentiates ``min(x, 0)`` only, so the branch ``where`` discards cannot
overflow. Called on (x, θ) alone, the derivatives keep relative accuracy in the tails
(``sigmoid(z)·sigmoid(-z)`` rather than ``s·(1 - s)``, ``sech² z = 4a / (1 + a)²`` with
``a = exp(-2|z|)``); the custom gradient passes them ``y = f(x, θ)`` and they reuse it
(``y·(1 - y)``, ``1 - y²``, as TensorFlow's SigmoidGrad / TanhGrad do), which is cheaper
and rounds to 0 only where the true value is below float precision anyway.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from keras import ops

from tradenn.errors import ConfigError
from tradenn.plugins import PLUGIN_HINT

Tensor = Any  # a keras / backend tensor; kept loose because the backend decides
Fn = Callable[[Tensor, Tensor], Tensor]
Derivative = Callable[..., Tensor]  # (x, θ, y=None) -> Tensor
Gradient = Literal["analytic", "autodiff"]
GRADIENTS: tuple[str, ...] = ("analytic", "autodiff")


@dataclass(frozen=True)
class ActivationSpec:
    """One activation family f(x, θ).

    Attributes:
        name: registry key, as written in configs.
        formula: f(x, θ) in words, for tables and plots.
        fn: f(x, θ) on keras.ops; θ broadcasts against x.
        dx: ∂f/∂x as ``dx(x, θ, y=None)``; ``y = f(x, θ)``, when given, is reused. None for
            a family registered without derivatives (it trains with autodiff only).
        dtheta: ∂f/∂θ as ``dtheta(x, θ, y=None)``, shaped like x (θ broadcast); None as dx.
        default: θ at which the family is the standard activation.
        theta_min: lower end of θ's valid range, None if unbounded.
        theta_max: upper end of θ's valid range, None if unbounded.
        theta_floor: smallest θ a clip may produce. It differs from ``theta_min`` when the
            range is open there: θ → 0 flattens ``sigmoid``/``tanh`` and kills
            ``scaled_relu``, so clipping stops short of it.
        slope: for families of the form f(x, θ) = φ(θ·x), φ'(θ·x) as ``slope(x, θ, y=None)``;
            then ∂f/∂x = θ·φ' and ∂f/∂θ = x·φ' (``dx`` and ``dtheta`` are built from it), and
            the custom gradient multiplies the upstream gradient by φ' once for both.
        builtin: False for a family added by `register_activation`.
        source: the module that registered the family (``tradenn`` for the built-ins).
    """

    name: str
    formula: str
    fn: Fn
    dx: Derivative | None
    dtheta: Derivative | None
    default: float
    theta_min: float | None
    theta_max: float | None
    theta_floor: float | None
    slope: Derivative | None = None
    builtin: bool = True
    source: str = "tradenn"

    @property
    def analytic(self) -> bool:
        """True when the family has hand-written derivatives (``gradient: analytic``)."""
        return self.dx is not None and self.dtheta is not None

    def squash(self, u: Tensor) -> Tensor:
        """Map an unconstrained u onto θ's valid range (smooth, monotone)."""
        lo, hi = self.theta_min, self.theta_max
        if lo is not None and hi is not None:
            return lo + (hi - lo) * ops.sigmoid(u)
        if lo is not None:
            return lo + ops.softplus(u)
        if hi is not None:
            return hi - ops.softplus(-u)
        return u

    def unsquash(self, theta: float) -> float:
        """The u with ``squash(u) == theta``: where a learned mapping starts."""
        self.validate(theta, what=f"{self.name} θ")
        lo, hi = self.theta_min, self.theta_max
        if lo is not None and hi is not None:
            p = (theta - lo) / (hi - lo)
            return math.log(p / (1.0 - p))
        if lo is not None:
            return _inverse_softplus(theta - lo)
        if hi is not None:
            return -_inverse_softplus(hi - theta)
        return float(theta)

    def clip(self, theta: Tensor) -> Tensor:
        """Clip θ into ``[theta_floor, theta_max]`` (a fixed mapping's safety net)."""
        lo = -math.inf if self.theta_floor is None else self.theta_floor
        hi = math.inf if self.theta_max is None else self.theta_max
        return ops.clip(theta, lo, hi)

    def validate(self, theta: float, *, what: str = "θ") -> None:
        """Raise `ConfigError` unless ``theta`` lies strictly inside the valid range."""
        lo, hi = self.theta_min, self.theta_max
        if not math.isfinite(theta) or (lo is not None and theta <= lo) or (
            hi is not None and theta >= hi
        ):
            raise ConfigError(
                f"{what}: expected a value in {self.range_text()}, got {theta!r}"
            )

    def range_text(self) -> str:
        """θ's valid range as an open interval, e.g. ``(0, inf)``."""
        lo = "-inf" if self.theta_min is None else f"{self.theta_min:g}"
        hi = "inf" if self.theta_max is None else f"{self.theta_max:g}"
        return f"({lo}, {hi})"


def _inverse_softplus(y: float) -> float:
    # log(expm1(y)) overflows for large y, where softplus is the identity anyway.
    return y if y > 30.0 else math.log(math.expm1(y))


def _scale(x: Tensor, t: Tensor | float) -> Tensor:
    """θ·x, without a multiply for a literal θ = 1 (a gate left at its default)."""
    return x if isinstance(t, int | float) and t == 1 else t * x


def _sigmoid_slope(z: Tensor) -> Tensor:
    """σ'(z) = σ(z)·σ(-z): no cancellation in the tails, unlike σ(z)·(1 - σ(z))."""
    return ops.sigmoid(z) * ops.sigmoid(-z)


def _sech2(z: Tensor) -> Tensor:
    """sech²(z) = 1 - tanh²(z), accurate where tanh rounds to ±1."""
    a = ops.exp(-2.0 * ops.abs(z))
    return 4.0 * a / ops.square(1.0 + a)


def _positive(x: Tensor) -> Tensor:
    """1 where x > 0, else 0, in x's dtype (the x ≤ 0 branch owns the kink)."""
    return ops.cast(ops.greater(x, 0), x.dtype)


# ---------------------------------------------------------------------------- families
# Each derivative takes y = f(x, θ) when the caller has it (the custom gradient always
# does): reusing y saves recomputing the nonlinearity, which matters inside an LSTM's
# time loop where every op costs. Without y they use forms accurate in the tails; with
# y they are as accurate as TensorFlow's own TanhGrad / SigmoidGrad (1 - y², y(1 - y)).


def _scaled_relu(x: Tensor, t: Tensor) -> Tensor:
    return t * ops.relu(x)


def _scaled_relu_slope(x: Tensor, t: Tensor, y: Tensor | None = None) -> Tensor:
    return _positive(x)  # θ·relu(x) = relu(θ·x) for θ > 0


def _leaky_relu(x: Tensor, t: Tensor) -> Tensor:
    # max(x, θx) for θ ≤ 1; `where` keeps autodiff's kink on the same side as `dx`.
    return ops.where(ops.greater(x, 0), x, t * x)


def _leaky_relu_dx(x: Tensor, t: Tensor, y: Tensor | None = None) -> Tensor:
    return ops.where(ops.greater(x, 0), ops.ones_like(x), t * ops.ones_like(x))


def _leaky_relu_dtheta(x: Tensor, t: Tensor, y: Tensor | None = None) -> Tensor:
    return ops.minimum(x, 0.0)


def _sigmoid(x: Tensor, t: Tensor) -> Tensor:
    return ops.sigmoid(_scale(x, t))


def _sigmoid_slope_at(x: Tensor, t: Tensor, y: Tensor | None = None) -> Tensor:
    return _sigmoid_slope(_scale(x, t)) if y is None else y * (1.0 - y)


def _tanh(x: Tensor, t: Tensor) -> Tensor:
    return ops.tanh(_scale(x, t))


def _tanh_slope_at(x: Tensor, t: Tensor, y: Tensor | None = None) -> Tensor:
    return _sech2(_scale(x, t)) if y is None else 1.0 - ops.square(y)


def _swish(x: Tensor, t: Tensor) -> Tensor:
    return x * ops.sigmoid(_scale(x, t))


def _swish_dx(x: Tensor, t: Tensor, y: Tensor | None = None) -> Tensor:
    z = _scale(x, t)
    return ops.sigmoid(z) + z * _sigmoid_slope(z)


def _swish_dtheta(x: Tensor, t: Tensor, y: Tensor | None = None) -> Tensor:
    return ops.square(x) * _sigmoid_slope(_scale(x, t))


def _elu(x: Tensor, t: Tensor) -> Tensor:
    return ops.where(ops.greater(x, 0), x, t * ops.expm1(ops.minimum(x, 0.0)))


def _elu_dx(x: Tensor, t: Tensor, y: Tensor | None = None) -> Tensor:
    # x ≤ 0: θ·exp(x) = y + θ, so the output saves an exp.
    negative = t * ops.exp(ops.minimum(x, 0.0)) if y is None else y + t
    return ops.where(ops.greater(x, 0), ops.ones_like(negative), negative)


def _elu_dtheta(x: Tensor, t: Tensor, y: Tensor | None = None) -> Tensor:
    return ops.expm1(ops.minimum(x, 0.0))


def _scale_family(name: str, formula: str, fn: Fn, slope: Derivative, default: float,
                  theta_min: float | None, theta_max: float | None,
                  theta_floor: float | None) -> ActivationSpec:
    """A family f(x, θ) = φ(θ·x), its derivatives from φ' by the chain rule."""

    def dx(x: Tensor, t: Tensor, y: Tensor | None = None) -> Tensor:
        return t * slope(x, t, y)

    def dtheta(x: Tensor, t: Tensor, y: Tensor | None = None) -> Tensor:
        return x * slope(x, t, y)

    return ActivationSpec(name, formula, fn, dx, dtheta, default, theta_min, theta_max,
                          theta_floor, slope)


ACTIVATIONS: dict[str, ActivationSpec] = {
    spec.name: spec
    for spec in (
        _scale_family("scaled_relu", "θ·relu(x)", _scaled_relu, _scaled_relu_slope,
                      1.0, 0.0, None, 1e-3),
        ActivationSpec("leaky_relu", "max(x, θ·x)", _leaky_relu, _leaky_relu_dx,
                       _leaky_relu_dtheta, 0.2, 0.0, 1.0, 0.0),
        _scale_family("sigmoid", "sigmoid(θ·x)", _sigmoid, _sigmoid_slope_at,
                      1.0, 0.0, None, 1e-3),
        _scale_family("tanh", "tanh(θ·x)", _tanh, _tanh_slope_at, 1.0, 0.0, None, 1e-3),
        ActivationSpec("swish", "x·sigmoid(θ·x)", _swish, _swish_dx, _swish_dtheta,
                       1.0, 0.0, None, 1e-3),
        ActivationSpec("elu", "x if x > 0 else θ·(exp(x) - 1)", _elu, _elu_dx, _elu_dtheta,
                       1.0, 0.0, None, 1e-3),
    )
}


def get_activation(name: str) -> ActivationSpec:
    """The registered family ``name``.

    Raises:
        ConfigError: ``name`` is not registered; the message lists the registered names.
    """
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"activation {name!r}: expected one of {sorted(ACTIVATIONS)} ({PLUGIN_HINT})"
        ) from None


def check_gradient(gradient: str) -> str:
    """Return ``gradient`` if it is ``"analytic"`` or ``"autodiff"``, else raise."""
    if gradient not in GRADIENTS:
        raise ConfigError(f"gradient: expected one of {list(GRADIENTS)}, got {gradient!r}")
    return gradient


# ---------------------------------------------------------------------------- applying


def _sum_to_shape(grad: Tensor, shape: Sequence[int | None]) -> Tensor:
    """Sum ``grad`` over the axes that broadcasting stretched ``shape`` along.

    Axes where θ's static size is 1 are summed (keepdims); summing an axis that turns out
    to be 1 at run time is harmless, so unknown sizes need no special case.
    """
    extra = len(grad.shape) - len(shape)
    if extra > 0:
        grad = ops.sum(grad, axis=tuple(range(extra)))
    axes = tuple(i for i, size in enumerate(shape) if size == 1 and grad.shape[i] != 1)
    if axes:
        grad = ops.sum(grad, axis=axes, keepdims=True)
    return grad


def apply(
    spec: ActivationSpec | str,
    x: Tensor,
    theta: Tensor,
    gradient: Gradient = "analytic",
) -> Tensor:
    """f(x, θ) with the family's analytic derivatives as its gradient.

    Args:
        spec: a family or its registry name.
        x: pre-activations.
        theta: θ, broadcastable to ``x`` (e.g. shape ``(batch, 1)`` or ``(batch, units)``
            against x of shape ``(batch, units)``); cast to x's dtype.
        gradient: ``"analytic"`` backpropagates through ``spec.dx`` / ``spec.dtheta``
            (θ's gradient summed back to θ's shape); ``"autodiff"`` through ``spec.fn``.

    Returns:
        f(x, θ), shaped like the broadcast of x and θ.

    Example:
        >>> y = apply("swish", ops.ones((4, 3)), ops.full((4, 1), 2.0))
    """
    if isinstance(spec, str):
        spec = get_activation(spec)
    theta = ops.cast(theta, x.dtype)
    if check_gradient(gradient) == "autodiff":
        return spec.fn(x, theta)
    require_analytic(spec)
    return _with_analytic_gradient(spec)(x, theta)


def require_analytic(spec: ActivationSpec) -> ActivationSpec:
    """``spec`` if it has analytic derivatives, else a `ConfigError` saying what to do."""
    if not spec.analytic:
        raise ConfigError(
            f"activation {spec.name!r}: gradient 'analytic' needs dx and dtheta, and the "
            "family was registered without them; use gradient 'autodiff'"
        )
    return spec


def _with_analytic_gradient(spec: ActivationSpec) -> Callable[[Tensor, Tensor], Tensor]:
    @ops.custom_gradient
    def activation(x: Tensor, theta: Tensor) -> tuple[Tensor, Callable[..., Any]]:
        y = spec.fn(x, theta)

        def grad(*args: Tensor, upstream: Tensor | None = None) -> tuple[Tensor, Tensor]:
            if upstream is None:
                (upstream,) = args
            if spec.slope is not None:  # φ(θ·x): one product with φ' serves both
                g = upstream * spec.slope(x, theta, y)
                grad_x, grad_theta = g * theta, g * x
            else:
                grad_x = upstream * spec.dx(x, theta, y)
                grad_theta = upstream * spec.dtheta(x, theta, y)
            return _sum_to_shape(grad_x, x.shape), _sum_to_shape(grad_theta, theta.shape)

        return y, grad

    return activation


# ---------------------------------------------------------------------------- plotting


def plot(
    name: str,
    thetas: Sequence[float] | None = None,
    x_range: tuple[float, float] = (-4.0, 4.0),
) -> Any:
    """f(x, θ) and ∂f/∂x for several θ, side by side.

    Args:
        name: a registered family.
        thetas: values of θ to draw; default: the family default and two either side.
        x_range: the x interval drawn.

    Returns:
        A ``matplotlib.figure.Figure`` (Agg canvas; save it with ``fig.savefig``).

    Raises:
        ConfigError: unknown family or a θ outside the family's range.
    """
    import numpy as np  # numpy and matplotlib only when plotting
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    spec = get_activation(name)
    if thetas is None:
        thetas = _default_thetas(spec)
    for theta in thetas:
        spec.validate(float(theta), what=f"plot({name!r}) θ")
    x = np.linspace(x_range[0], x_range[1], 401)
    fig = Figure(figsize=(9, 3.6))
    FigureCanvasAgg(fig)
    ax_f, ax_dx = fig.subplots(1, 2)
    for theta in thetas:
        xt = ops.convert_to_tensor(x, dtype="float32")
        tt = ops.full_like(xt, float(theta))
        y = ops.convert_to_numpy(spec.fn(xt, tt))
        slope = np.gradient(y, x) if spec.dx is None else ops.convert_to_numpy(spec.dx(xt, tt))
        ax_f.plot(x, y, label=f"θ = {theta:g}")
        ax_dx.plot(x, slope, label=f"θ = {theta:g}")
    ax_f.set_title(f"{name}: f(x, θ) = {spec.formula}")
    ax_dx.set_title("∂f/∂x" if spec.dx is not None else "∂f/∂x (numerical: no dx registered)")
    for ax in (ax_f, ax_dx):
        ax.axhline(0.0, color="0.7", lw=0.8)
        ax.axvline(0.0, color="0.7", lw=0.8)
        ax.set_xlabel("x")
        ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def _default_thetas(spec: ActivationSpec) -> list[float]:
    if spec.theta_max is not None:  # a bounded range: spread over it
        lo = spec.theta_min or 0.0
        return [lo + (spec.theta_max - lo) * p for p in (0.05, 0.2, 0.5, 0.9)]
    return [spec.default * f for f in (0.25, 0.5, 1.0, 2.0, 4.0)]


_PLUGIN_API = (
    "register_activation", "unregister_activation", "check_activation", "require_checked",
    "ActivationCheck", "ActivationCheckError",
)


def __getattr__(name: str) -> Any:
    # The derivative check lives in its own module; it is part of this module's API.
    if name in _PLUGIN_API:
        from tradenn import activation_plugins

        return getattr(activation_plugins, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
