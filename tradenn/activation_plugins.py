"""Activation families of your own: register them, and check their derivatives.

`register_activation` adds a family f(x; θ) to `tradenn.activations.ACTIVATIONS` (and its
name to the config's TensorFlow-free list), so ``model.activation: my_family`` works like a
built-in. `check_activation` compares the family's hand-written ∂f/∂x and ∂f/∂θ with central
finite differences of f in float64; `require_checked` runs that check once per family per
process, and training with ``gradient: analytic`` refuses a family that fails it.

All of these are importable from `tradenn.activations`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from keras import ops

from tradenn.activations import (
    ACTIVATIONS,
    ActivationSpec,
    Derivative,
    Fn,
    Tensor,
    get_activation,
)
from tradenn.errors import ConfigError
from tradenn.plugins import BUILTIN_ACTIVATIONS, forget_activation, note_activation

# x where derivatives are compared: both signs, near 0 (not at 0, where a kink's one-sided
# convention differs from a central difference) and far out in the tails.
CHECK_X = tuple(
    s * v for v in (1e-3, 1e-2, 0.1, 0.3, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 100.0)
    for s in (-1.0, 1.0)
)
TOLERANCE = 1e-5  # largest |analytic - numerical| / (1 + |numerical|) accepted
_STEP = 1e-6  # finite-difference step, relative to max(1, |value|)


def register_activation(
    name: str,
    fn: Fn,
    *,
    dx: Fn | None = None,
    dtheta: Fn | None = None,
    default: float,
    theta_min: float | None = None,
    theta_max: float | None = None,
    formula: str = "",
    replace: bool = False,
) -> ActivationSpec:
    """Add a family f(x; θ) of your own, usable by name wherever a built-in is.

    Args:
        name: the name configs use (``model.activation: name``); a lowercase identifier.
        fn: ``fn(x, theta)`` on ``keras.ops``; θ broadcasts against x.
        dx: ∂f/∂x as ``dx(x, theta)``. With ``dtheta``, the family can train with
            ``gradient: analytic`` (once `check_activation` passes); without both it
            trains with ``gradient: autodiff`` only.
        dtheta: ∂f/∂θ as ``dtheta(x, theta)``, shaped like x.
        default: the θ at which the family is "itself"; where fixed mappings start.
        theta_min: lower end of θ's (open) valid range; None if unbounded.
        theta_max: upper end of θ's (open) valid range; None if unbounded.
        formula: f(x, θ) in words, for tables and plots.
        replace: allow registering ``name`` again (re-running a notebook cell); a
            built-in name is never replaced.

    Returns:
        The family's `ActivationSpec`, now in ``ACTIVATIONS``.

    Raises:
        ConfigError: a built-in name, a name already registered (without ``replace``),
            ``dx`` without ``dtheta`` or the reverse, or ``default`` outside the range.

    Example:
        >>> register_activation(
        ...     "theta_softsign", lambda x, t: x / (1 + t * ops.abs(x)),
        ...     dx=lambda x, t: 1 / ops.square(1 + t * ops.abs(x)),
        ...     dtheta=lambda x, t: -x * ops.abs(x) / ops.square(1 + t * ops.abs(x)),
        ...     default=1.0, theta_min=0.0, formula="x / (1 + θ|x|)")
    """
    what = f"register_activation({name!r})"
    if not isinstance(name, str) or not name.isidentifier() or name != name.lower():
        raise ConfigError(f"{what}: expected a lowercase identifier as the name")
    if name in BUILTIN_ACTIVATIONS:
        raise ConfigError(f"{what}: {name!r} is a built-in family; choose another name")
    if name in ACTIVATIONS and not replace:
        raise ConfigError(
            f"{what}: a family {name!r} is already registered (by {ACTIVATIONS[name].source}); "
            "choose another name, or pass replace=True to redefine it"
        )
    if not all(callable(f) for f in (fn, dx or fn, dtheta or fn)):
        raise ConfigError(f"{what}: fn, dx and dtheta must be functions of (x, theta)")
    if (dx is None) != (dtheta is None):
        missing = "dtheta" if dtheta is None else "dx"
        raise ConfigError(
            f"{what}: give both dx and dtheta (missing {missing}), or neither to train with "
            "gradient: autodiff only"
        )
    lo = None if theta_min is None else float(theta_min)
    hi = None if theta_max is None else float(theta_max)
    if lo is not None and hi is not None and lo >= hi:
        raise ConfigError(f"{what}: theta_min ({lo:g}) must be below theta_max ({hi:g})")
    # A clip stops short of an open lower end, as the built-ins' theta_floor does.
    floor = None if lo is None else lo + min(1e-3, (hi - lo) / 4 if hi is not None else 1e-3)
    spec = ActivationSpec(
        name, formula or name, fn, _user_derivative(dx), _user_derivative(dtheta),
        float(default), lo, hi, floor, builtin=False,
        source=getattr(fn, "__module__", None) or "unknown",
    )
    spec.validate(spec.default, what=f"{what} default")
    ACTIVATIONS[name] = spec
    note_activation(name, analytic=spec.analytic)
    _CHECKED.pop(name, None)
    return spec


def unregister_activation(name: str) -> None:
    """Remove a family added by `register_activation` (built-ins cannot be removed)."""
    if name in BUILTIN_ACTIVATIONS:
        raise ConfigError(f"unregister_activation: {name!r} is a built-in family")
    ACTIVATIONS.pop(name, None)
    forget_activation(name)
    _CHECKED.pop(name, None)


def _user_derivative(derivative: Fn | None) -> Derivative | None:
    """A user's ``d(x, θ)`` as a registry derivative ``d(x, θ, y=None)`` (y unused)."""
    if derivative is None:
        return None

    def wrapped(x: Tensor, t: Tensor, y: Tensor | None = None) -> Tensor:
        return derivative(x, t)

    return wrapped


# ---------------------------------------------------------------------------- checking


class ActivationCheckError(ConfigError):
    """A family's hand-written derivative disagrees with finite differences of f."""

    def __init__(self, message: str, check: ActivationCheck):
        super().__init__(message)
        self.check = check


@dataclass(frozen=True)
class DerivativeCheck:
    """The worst point of one derivative against its central finite difference."""

    derivative: str  # "dx" or "dtheta"
    error: float  # |analytic - numerical| / (1 + |numerical|)
    x: float
    theta: float
    analytic: float
    numerical: float

    @property
    def passed(self) -> bool:
        return self.error <= TOLERANCE

    def describe(self) -> str:
        return (f"{self.derivative}: largest error {self.error:.1e} at x={self.x:g}, "
                f"θ={self.theta:g} (analytic {self.analytic:.6g}, numerical {self.numerical:.6g})")


@dataclass(frozen=True)
class ActivationCheck:
    """What `check_activation` found: each derivative's largest error and where."""

    name: str
    dx: DerivativeCheck | None  # None: the family has no analytic derivatives
    dtheta: DerivativeCheck | None
    xs: tuple[float, ...]
    thetas: tuple[float, ...]

    @property
    def passed(self) -> bool:
        return all(d is None or d.passed for d in (self.dx, self.dtheta))

    def describe(self) -> str:
        grid = (f"{len(self.xs)} x in [{min(self.xs):g}, {max(self.xs):g}] × θ in "
                f"{[float(f'{t:.4g}') for t in self.thetas]}, float64, tolerance {TOLERANCE:g}")
        if self.dx is None:
            return f"{self.name}: no dx / dtheta registered (trains with gradient: autodiff)"
        lines = [f"{self.name}: {grid}"]
        for d in (self.dx, self.dtheta):
            lines.append(f"  {'ok  ' if d.passed else 'FAIL'} {d.describe()}")
        return "\n".join(lines)


def check_activation(
    name: str, *, thetas: list[float] | None = None, xs: list[float] | None = None
) -> ActivationCheck:
    """Compare a family's ``dx`` and ``dtheta`` with central finite differences of ``fn``.

    Everything runs in float64: ∂f/∂x ≈ (f(x+h) - f(x-h)) / 2h, and the same in θ, with
    h = 1e-6·max(1, |value|), over x in ±{0.001 ... 100} (near 0 and in the tails) and
    five θ spread over the family's range around its default.

    Args:
        name: a registered family.
        thetas: θ values to use instead of the default spread (each inside the range).
        xs: x values to use instead of ``CHECK_X``.

    Returns:
        An `ActivationCheck`: each derivative's largest error, and the x and θ where.

    Raises:
        ActivationCheckError: a derivative's error exceeds ``TOLERANCE``; the message
            names the derivative (``dx`` / ``dtheta``), x and θ.
        ConfigError: unknown family, or a θ outside its range.
    """
    spec = get_activation(name)
    thetas = list(thetas) if thetas is not None else check_thetas(spec)
    for theta in thetas:
        spec.validate(float(theta), what=f"check_activation({name!r}) θ")
    xs = list(xs) if xs is not None else list(CHECK_X)
    if not spec.analytic:
        return ActivationCheck(name, None, None, tuple(xs), tuple(thetas))
    x, t = (a.ravel() for a in np.meshgrid(np.asarray(xs, "float64"),
                                           np.asarray(thetas, "float64")))
    hx = _STEP * np.maximum(1.0, np.abs(x))
    ht = _STEP * np.maximum(1.0, np.abs(t))
    f = _evaluator(spec, x.shape)
    numerical_dx = (f("fn", x + hx, t) - f("fn", x - hx, t)) / (2 * hx)
    numerical_dtheta = (f("fn", x, t + ht) - f("fn", x, t - ht)) / (2 * ht)
    check = ActivationCheck(
        name,
        _worst("dx", f("dx", x, t), numerical_dx, x, t),
        _worst("dtheta", f("dtheta", x, t), numerical_dtheta, x, t),
        tuple(xs), tuple(thetas),
    )
    failed = [d for d in (check.dx, check.dtheta) if not d.passed]
    if failed:
        detail = "; ".join(
            f"{d.derivative} disagrees with finite differences at x={d.x:g}, θ={d.theta:g}: "
            f"analytic {d.analytic:.6g}, numerical {d.numerical:.6g} (error {d.error:.1e} > "
            f"{TOLERANCE:g})" for d in failed
        )
        raise ActivationCheckError(f"activation {name!r}: {detail}", check)
    return check


def check_thetas(spec: ActivationSpec) -> list[float]:
    """Five θ across the family's range, around its default, away from open ends."""
    lo, hi, d = spec.theta_min, spec.theta_max, spec.default
    if lo is not None and hi is not None:
        return [lo + (hi - lo) * p for p in (0.05, 0.25, 0.5, 0.75, 0.95)]
    if lo is not None:
        return [lo + (d - lo) * k for k in (0.1, 0.5, 1.0, 2.0, 5.0)]
    if hi is not None:
        return [hi - (hi - d) * k for k in (0.1, 0.5, 1.0, 2.0, 5.0)]
    step = max(1.0, abs(d))
    return [d + step * k for k in (-2.0, -1.0, 0.0, 1.0, 2.0)]


def _evaluator(spec: ActivationSpec, shape: tuple[int, ...]) -> Any:
    def evaluate(role: str, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        function = getattr(spec, role)
        try:
            out = function(ops.convert_to_tensor(x, "float64"), ops.convert_to_tensor(t, "float64"))
            return np.broadcast_to(np.asarray(ops.convert_to_numpy(out), "float64"), shape)
        except Exception as exc:  # the user's code: say which function, then stop
            first = (str(exc).strip().splitlines() or [""])[0]
            raise ConfigError(
                f"activation {spec.name!r}: {role}(x, theta) failed on float64 tensors of "
                f"shape {shape}: {type(exc).__name__}: {first}"
            ) from exc

    return evaluate


def _worst(derivative: str, analytic: np.ndarray, numerical: np.ndarray,
           x: np.ndarray, t: np.ndarray) -> DerivativeCheck:
    with np.errstate(invalid="ignore", over="ignore"):
        error = np.abs(analytic - numerical) / (1.0 + np.abs(numerical))
    error = np.where(np.isfinite(numerical), error, 0.0)  # f itself overflowed: no reference
    error = np.where(np.isnan(error), math.inf, error)  # analytic NaN / inf where f is fine
    i = int(np.argmax(error))
    return DerivativeCheck(derivative, float(error[i]), float(x[i]), float(t[i]),
                           float(analytic[i]), float(numerical[i]))


# Families whose derivatives passed `check_activation` in this process (name -> check).
_CHECKED: dict[str, ActivationCheck] = {}


def require_checked(name: str) -> ActivationCheck:
    """`check_activation` once per family per process, for training with analytic gradients.

    Raises:
        ConfigError: the family has no analytic derivatives (train it with autodiff).
        ActivationCheckError: a derivative disagrees with finite differences.
    """
    if name not in _CHECKED:
        spec = get_activation(name)
        if not spec.analytic:
            raise ConfigError(
                f"activation {name!r} was registered without dx and dtheta, so it cannot "
                "train with gradient: analytic; use gradient: autodiff"
            )
        _CHECKED[name] = check_activation(name)
    return _CHECKED[name]
