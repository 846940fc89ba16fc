"""An experiment as a YAML file, validated into pydantic models.

Every section forbids unknown keys, so a typo is an error that names its key path rather
than a silently ignored setting. ``load_config`` applies ``--set key.path=value`` overrides
before validation, so overrides are checked exactly like the file.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    model_validator,
)

from tradenn.errors import ConfigError
from tradenn.plugins import (
    ACTIVATION_NAMES,
    MODULE_NAME,
    PLUGIN_HINT,
    import_plugins,
    known_activation,
)

# Names kept here (not imported from `activations` / `regimes`) so that reading a config
# never imports TensorFlow; tests check that they match the registries.
ActivationName = Literal["scaled_relu", "leaky_relu", "sigmoid", "tanh", "swish", "elu"]
# A built-in family or one registered by a plugin (`tradenn.plugins.ACTIVATION_NAMES`).
Activation = Annotated[str, AfterValidator(known_activation)]
MappingKind = Literal["fixed", "affine", "per_state", "constant", "default"]
FeatureName = Literal[
    "log_return", "return_5", "return_21", "volatility_21", "range", "gap", "volume_z",
    "close_ma_ratio", "return_w", "volatility_w", "session_gap", "time_of_day_sin",
    "time_of_day_cos",
]
# Bar intervals (tradenn.frequency.INTERVALS; kept here so a config never imports pandas).
BarInterval = Literal["1d", "1wk", "1h", "30m", "15m", "5m", "1m"]
Ablation = Literal["no_regime", "shuffled_regime", "regime_input", "film"]
Sizing = Literal["sign", "threshold", "proportional", "vol_target", "vol_scaled", "model"]
Execution = Literal["close", "next_open"]

PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeFloat = Annotated[float, Field(ge=0)]


class Strict(BaseModel):
    """A config section: unknown keys are errors, values are checked on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


# ---------------------------------------------------------------------------- data


class DataConfig(Strict):
    # A ticker or file, or a list of them: a pooled run trains one model on every asset.
    source: str | Annotated[list[str], Field(min_length=1)] = "SPY"
    provider: Literal["auto", "cache", "yfinance", "bundled"] = "bundled"
    start: dt.date | None = None
    end: dt.date | None = None
    interval: BarInterval = "1d"  # intraday bars keep their timestamps
    # Annualization of every statistic, feature and regime; None: inferred from the bars.
    bars_per_year: Annotated[float, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _start_before_end(self) -> DataConfig:
        if self.start and self.end and self.start >= self.end:
            raise ValueError(f"start {self.start} must be before end {self.end}")
        return self

    @model_validator(mode="after")
    def _distinct_assets(self) -> DataConfig:
        names = [asset_name(s) for s in self.sources]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"source names {repeated} more than once (assets are named by "
                             "ticker or file stem)")
        return self

    @property
    def sources(self) -> list[str]:
        """``source`` as a list: one entry per asset."""
        return [self.source] if isinstance(self.source, str) else list(self.source)

    @property
    def pooled(self) -> bool:
        return len(self.sources) > 1


def asset_name(source: str) -> str:
    """What an asset is called in predictions and reports: the ticker, or a file's stem
    (``data/SPY.csv`` -> ``SPY``)."""
    path = Path(source)
    return path.stem if source.lower().endswith((".csv", ".parquet", ".pq")) else path.name


class FeaturesConfig(Strict):
    window: PositiveInt = 20
    horizon: PositiveInt = 1
    lookback: PositiveInt = 21  # the w of return_w and volatility_w, in bars
    # What the model learns: the next return, or it x target_vol / sigma_t (sigma_t the
    # ex-ante volatility, an exponentially weighted std of returns over `vol_span` bars),
    # winsorized at `winsorize` standard deviations (Moskowitz, Ooi & Pedersen 2012).
    target: Literal["return", "vol_scaled_return"] = "return"
    vol_span: Annotated[int, Field(ge=2)] = 60
    target_vol: Annotated[float, Field(gt=0)] = 0.15
    winsorize: Annotated[float, Field(gt=0)] = 5.0
    columns: list[FeatureName] = Field(
        default_factory=lambda: ["log_return", "return_5", "return_21", "volatility_21", "range"],
        min_length=1,
    )


# ---------------------------------------------------------------------------- regimes

# A detector's column prefix: lowercase, so composite columns read like `vol_z`, `hmm_p0`.
Prefix = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
DataProvider = Literal["auto", "cache", "yfinance", "bundled"]


class VolatilityRegimeConfig(Strict):
    """Realized volatility, its expanding z-score and percentile, optional fitted levels."""

    kind: Literal["volatility"] = "volatility"
    prefix: Prefix = "vol"
    window: Annotated[int, Field(ge=2)] = 21  # bars of log returns per volatility estimate
    min_history: PositiveInt = 252  # volatility values needed before z-score / percentile
    levels: Annotated[int, Field(ge=0, le=10)] = 0  # 0: no discrete level column

    @model_validator(mode="after")
    def _levels_not_one(self) -> VolatilityRegimeConfig:
        if self.levels == 1:
            raise ValueError("levels must be 0 (no levels) or at least 2, got 1")
        return self


class TrendRegimeConfig(Strict):
    """Close against a fast and a slow moving average, and the slow average's slope."""

    kind: Literal["trend"] = "trend"
    prefix: Prefix = "trend"
    fast: Annotated[int, Field(ge=2)] = 50
    slow: Annotated[int, Field(ge=3)] = 200
    slope_window: PositiveInt = 21
    flat_band: NonNegativeFloat = 0.0  # |log(fast MA / slow MA)| below this is "flat"

    @model_validator(mode="after")
    def _fast_below_slow(self) -> TrendRegimeConfig:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be shorter than slow ({self.slow})")
        return self


class VixRegimeConfig(Strict):
    """An exogenous index (CBOE VIX) aligned causally to the bars' calendar."""

    kind: Literal["vix"] = "vix"
    prefix: Prefix = "vix"
    source: str = "VIX"  # ticker or path, loaded with tradenn.data.load_bars
    provider: DataProvider = "bundled"
    min_history: PositiveInt = 252  # VIX closes needed before the percentile
    # Calendar days a close may be old, counted from the close used (with lag 1, the previous
    # session's): 7 covers the longest closure in the data (2001-09-11 to 09-17).
    max_stale_days: Annotated[int, Field(ge=0)] = 7
    # VIX sessions of delay. CBOE's close comes 15 minutes after the NYSE's, so the
    # strictly causal default for a position taken at the equity close is the previous one.
    lag: Annotated[int, Field(ge=0)] = 1


class HmmRegimeConfig(Strict):
    """A Gaussian HMM on standardized returns (and log volatility), filtered forward only."""

    kind: Literal["hmm"] = "hmm"
    prefix: Prefix = "hmm"
    n_states: Annotated[int, Field(ge=2, le=6)] = 2
    use_volatility: bool = True
    vol_window: Annotated[int, Field(ge=2)] = 21
    covariance_type: Literal["full", "diag"] = "full"
    n_iter: PositiveInt = 200
    seed: int = 0


class MarkovRegimeConfig(Strict):
    """statsmodels' Markov-switching regression of returns (switching mean and variance)."""

    kind: Literal["markov"] = "markov"
    prefix: Prefix = "markov"
    n_states: Annotated[int, Field(ge=2, le=4)] = 2
    max_train: Annotated[int, Field(ge=100)] = 2520  # most recent training bars used to fit


# A finite float > 0 (pydantic's plain float would accept inf and nan).
FinitePositive = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class ChangepointRegimeConfig(Strict):
    """Bayesian online changepoint detection (Adams & MacKay 2007) on daily log returns."""

    kind: Literal["changepoint"] = "changepoint"
    prefix: Prefix = "cp"
    # Prior probability of a change at each bar, 1 / the expected run length. 1/250: one
    # change a trading year a priori, the order of the volatility regimes' durations on SPY
    # (months to a few years); the data must overcome prior odds of 1:249 at every bar.
    # (On SPY 1993-2026 the state then turns "changing" about 1.7 times a year.)
    hazard: Annotated[float, Field(gt=0, lt=1)] = 1 / 250
    # Run lengths tracked (two trading years); a longer run is represented by its last
    # max_run_length returns. Cost and memory grow linearly with it.
    max_run_length: Annotated[int, Field(ge=2, le=5000)] = 500
    # cp_prob is the posterior probability that the current run began within the last
    # `recent` bars; cp_state is 0 ("changing") while that probability is at least 1/2. A
    # trading month, because the posterior often places a break only to within a couple of
    # weeks: with 10 bars the state missed 70% of planted doublings of volatility and 12%
    # of quadruplings, with 21 bars 27% and none (flagged a median 1 bar after a
    # quadrupling; scripts/changepoint_calibration.py).
    recent: PositiveInt = 21
    # Normal-Inverse-Gamma prior of a run's mean and variance, in units of returns
    # standardized by the training window (mean 0, variance 1 there), so the defaults suit
    # any asset or bar interval: variance ~ InvGamma(alpha0, beta0), here of mean
    # beta0 / (alpha0 - 1) = 1 (the training variance) and coefficient of variation
    # 1 / sqrt(alpha0 - 2) = 0.58, loose enough for a run at a quarter or four times it;
    # mean ~ N(mu0, variance / kappa0). kappa0 = 10 keeps a run's mean within about 0.3
    # standard deviations: daily means are hundredths of one, and with kappa0 = 1 a few
    # same-signed returns pass for a new regime (false alarms in 47% of 400-bar stretches
    # of i.i.d. Gaussian returns, against 10%). Fat tails still read as breaks: 83% of
    # such stretches of i.i.d. Student-t(5) returns turn "changing" at least once.
    mu0: Annotated[float, Field(allow_inf_nan=False)] = 0.0
    kappa0: FinitePositive = 10.0
    alpha0: FinitePositive = 5.0
    beta0: FinitePositive = 4.0

    @model_validator(mode="after")
    def _recent_below_max_run_length(self) -> ChangepointRegimeConfig:
        if self.recent >= self.max_run_length:
            raise ValueError(
                f"recent ({self.recent}) must be shorter than max_run_length "
                f"({self.max_run_length})"
            )
        return self


DetectorConfig = Annotated[
    VolatilityRegimeConfig | TrendRegimeConfig | VixRegimeConfig | HmmRegimeConfig
    | MarkovRegimeConfig | ChangepointRegimeConfig,
    Field(discriminator="kind"),
]
RegimeKind = Literal["volatility", "trend", "vix", "hmm", "markov", "changepoint"]
# kind -> config model of a detector section: the built-ins, then what
# `tradenn.regimes.register_detector` adds. Entries are validated by looking up their kind
# here (not a static union), so a plugin's detector validates like a built-in.
DETECTOR_CONFIGS: dict[str, type[BaseModel]] = {
    c.model_fields["kind"].default: c
    for c in (VolatilityRegimeConfig, TrendRegimeConfig, VixRegimeConfig, HmmRegimeConfig,
              MarkovRegimeConfig, ChangepointRegimeConfig)
}


def _detector_section(value: Any) -> BaseModel:
    """One ``regime.detectors`` entry, validated by the config model of its ``kind``."""
    if isinstance(value, BaseModel) and DETECTOR_CONFIGS.get(getattr(value, "kind", None)) is type(value):
        return value
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if not isinstance(value, dict):
        raise ValueError("expected a detector section (a mapping with a kind)")
    kind = value.get("kind")
    if not isinstance(kind, str) or kind not in DETECTOR_CONFIGS:
        raise ValueError(
            f"unknown detector kind {kind!r}; expected one of {sorted(DETECTOR_CONFIGS)} "
            f"({PLUGIN_HINT})"
        )
    return DETECTOR_CONFIGS[kind].model_validate(value)


Detector = Annotated[Any, PlainValidator(_detector_section)]


class RegimeConfig(Strict):
    """Which detectors run and which of their columns enter the model's regime input.

    Several detectors form a composite: their columns side by side, as one regime vector.
    """

    detectors: list[Detector] = Field(
        default_factory=lambda: [VolatilityRegimeConfig()], min_length=1
    )
    columns: list[str] | None = Field(default=None, min_length=1)  # None: detectors' defaults
    # Pooled runs: None computes each asset's regime from its own bars; a ticker or file
    # computes one regime from that series for every asset (aligned to each asset's dates).
    source: str | None = None
    provider: DataProvider | None = None  # of `source`; None: data.provider
    state: str | None = None  # discrete column for per-regime reports; None: first available
    # Refuse to train on a plugin detector that fails `tradenn.regimes.check_causal`; the
    # run's manifest records when this was turned off.
    check_causal: bool = True


# ---------------------------------------------------------------------------- model


class MappingConfig(Strict):
    """θ = g(r). ``fixed`` uses ``scale`` and ``shift``; the others learn their parameters."""

    kind: MappingKind = "affine"
    scale: float = 1.0
    shift: float = 0.0


class ModelConfig(Strict):
    kind: Literal["lstm", "dense"] = "lstm"
    lstm_units: list[PositiveInt] = Field(default_factory=lambda: [32])
    dense_units: list[PositiveInt] = Field(default_factory=lambda: [16])
    activation: Activation = "swish"
    lstm_activation: Activation = "tanh"
    recurrent_activation: Activation = "sigmoid"
    condition_gates: bool = False
    mapping: MappingConfig = Field(default_factory=MappingConfig)
    per_unit: bool = False
    gradient: Literal["analytic", "autodiff"] = "analytic"
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.0
    l2: NonNegativeFloat = 0.0
    # Unroll RegimeLSTM's time loop into Python steps: a bigger graph, slower to trace for
    # every fresh model of a walk-forward run; the looped default is what the benchmarks use.
    unroll: bool = False

    @model_validator(mode="after")
    def _lstm_has_layers(self) -> ModelConfig:
        if self.kind == "lstm" and not self.lstm_units:
            raise ValueError("an lstm model needs at least one entry in lstm_units")
        return self

    @model_validator(mode="after")
    def _analytic_has_derivatives(self) -> ModelConfig:
        if self.gradient == "analytic":
            for key in ("activation", "lstm_activation", "recurrent_activation"):
                name = getattr(self, key)
                if not ACTIVATION_NAMES.get(name, True):
                    raise ValueError(
                        f"gradient 'analytic' needs the derivatives dx and dtheta, and {key} "
                        f"{name!r} was registered without them; use gradient: autodiff"
                    )
        return self


# ---------------------------------------------------------------------------- training


class TrainConfig(Strict):
    epochs: PositiveInt = 30
    batch_size: PositiveInt = 128
    learning_rate: Annotated[float, Field(gt=0)] = 1e-3
    patience: Annotated[int, Field(ge=0)] = 5
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    validation_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.2
    # sharpe: the model's output is a position in [-1, 1] and the loss is minus the
    # annualized Sharpe ratio of position x target over each batch (Lim et al. 2019),
    # plus turnover_penalty x the mean |position change| between an asset's consecutive days.
    loss: Literal["mse", "huber", "sharpe"] = "huber"
    turnover_penalty: NonNegativeFloat = 0.0
    # Models trained at once, as Ray tasks (1: one after another in this process, no Ray).
    # The predictions are the same whatever the number.
    workers: PositiveInt = 1
    jit_compile: bool = False


class WalkForwardConfig(Strict):
    scheme: Literal["expanding", "rolling", "single"] = "expanding"
    min_train: PositiveInt = 2520  # bars in the first training window (10 years)
    train_window: PositiveInt | None = None  # rolling: bars per training window
    test_size: PositiveInt = 504  # bars per test span
    purge: Annotated[int, Field(ge=0)] | None = None  # None: the target horizon
    ablations: list[Ablation] = Field(default_factory=lambda: ["no_regime", "shuffled_regime"])

    @model_validator(mode="after")
    def _rolling_has_window(self) -> WalkForwardConfig:
        if self.scheme == "rolling" and self.train_window is None:
            self.train_window = self.min_train
        return self


class BacktestConfig(Strict):
    sizing: Sizing = "sign"
    long_only: bool = False
    threshold: NonNegativeFloat = 0.0
    leverage: Annotated[float, Field(gt=0)] = 1.0
    # vol_target / vol_scaled: 15% a year, as in the volatility-scaling literature (Lim et al. 2019)
    target_vol: Annotated[float, Field(gt=0)] = 0.15
    vol_window: PositiveInt = 21
    cost_bps: NonNegativeFloat = 1.0
    slippage_bps: NonNegativeFloat = 0.0
    # close: fill at the close the model read (market-on-close); next_open: at the next open.
    execution: Execution = "close"
    risk_free: Annotated[float, Field(gt=-1, lt=1)] = 0.0  # annual, of Sharpe, Sortino, PSR, DSR


class ExperimentConfig(Strict):
    """A whole experiment: one YAML file in ``configs/``."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")] = "experiment"
    # Modules imported (by name) before the rest is validated: they register user families
    # and detectors. Recorded with the run and imported again to predict, resume and load.
    plugins: list[Annotated[str, Field(pattern=MODULE_NAME.pattern)]] = Field(default_factory=list)
    data: DataConfig = Field(default_factory=DataConfig)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    regime: RegimeConfig = Field(default_factory=RegimeConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    walk_forward: WalkForwardConfig = Field(default_factory=WalkForwardConfig)
    backtest: BacktestConfig = Field(default_factory=BacktestConfig)

    @model_validator(mode="after")
    def _purge_covers_horizon(self) -> ExperimentConfig:
        purge, horizon = self.walk_forward.purge, self.features.horizon
        if purge is not None and purge < horizon:
            raise ValueError(
                f"walk_forward.purge ({purge}) is below features.horizon ({horizon}): training "
                f"labels would overlap the test span; use purge >= {horizon} or leave it unset"
            )
        return self

    @model_validator(mode="after")
    def _sizing_fits_loss(self) -> ExperimentConfig:
        sharpe = self.train.loss == "sharpe"
        if sharpe and "sizing" not in self.backtest.model_fields_set:
            self.backtest.sizing = "model"  # a Sharpe-trained model's output is its position
        if self.backtest.sizing == "model" and not sharpe:
            raise ValueError(
                "backtest.sizing 'model' trades the model's output as a position, which "
                f"needs train.loss: sharpe (got {self.train.loss!r}, a predicted return)"
            )
        if self.train.turnover_penalty > 0 and not sharpe:
            raise ValueError("train.turnover_penalty applies to train.loss: sharpe only")
        return self

    def to_yaml(self) -> str:
        """The resolved config, every default written out, as stored in a run."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


# ---------------------------------------------------------------------------- loading


def load_config(
    path: str | os.PathLike[str], overrides: list[str] | tuple[str, ...] = ()
) -> ExperimentConfig:
    """Read, override and validate an experiment config.

    Args:
        path: a YAML file.
        overrides: ``"key.path=value"`` strings; the value is parsed as YAML, so
            ``train.epochs=5`` is an int and ``train.seeds=[0,1]`` a list.

    Raises:
        ConfigError: the file is missing or not YAML, an override is malformed, or the
            result does not validate; the message names the key path.
    """
    raw = read_config_file(path)
    for override in overrides:
        apply_override(raw, override)
    return validate_config(raw, source=str(path))


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A config file's raw mapping, before validation (YAML read with ``safe_load``)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} not found")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where else ""
        problem = str(getattr(exc, "problem", "") or "")
        if "!!python/" in problem or "tag:yaml.org,2002:python/" in problem:
            raise ConfigError(
                f"{path}{line}: the !!python/ tag is refused (a config is data; tradenn "
                "reads YAML with safe_load and never builds Python objects from it)"
            ) from None
        raise ConfigError(f"{path}: not valid YAML{line}" + (f" ({problem})" if problem else "")) from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections, got {type(raw).__name__}")
    return raw


def _import_config_plugins(raw: dict[str, Any], source: str) -> None:
    """Import the modules a raw config lists under ``plugins`` (a malformed list is left
    for validation to report by key path)."""
    modules = raw.get("plugins")
    if isinstance(modules, list) and all(isinstance(m, str) for m in modules):
        import_plugins(modules, what=f"{source}: plugins")


def validate_config(raw: dict[str, Any], *, source: str = "config") -> ExperimentConfig:
    """Validate a config dict; a failure is one `ConfigError` naming each bad key path.

    The modules under ``plugins`` are imported first, so their families and detectors
    validate.
    """
    _import_config_plugins(raw, source)
    try:
        return ExperimentConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {format_validation_error(exc, raw)}") from None


def format_validation_error(exc: ValidationError, raw: Any = None) -> str:
    """pydantic's errors as ``key.path: message (got value)``, joined into one line.

    With the ``raw`` input, a tagged union's tag is dropped from the path, so a detector's
    key reads ``regime.detectors.0.window`` as in the file, not ``...0.volatility.window``.
    """
    parts = []
    for error in exc.errors():
        loc = ".".join(_key_path(error["loc"], raw))
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        elif "input" in error and not isinstance(error["input"], dict | list):
            message += f" (got {error['input']!r})"
        parts.append(f"{loc}: {message}" if loc else message)
    return "; ".join(parts)


def _key_path(loc: tuple[Any, ...], raw: Any) -> list[str]:
    """``loc`` as the user wrote it: union tags (a ``kind`` value, not a key) left out."""
    parts, node = [], raw
    for part in loc:
        if isinstance(node, dict) and part not in node and node.get("kind") == part:
            continue  # pydantic's tag of a discriminated union member
        parts.append(str(part))
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
    return parts


def apply_override(raw: dict[str, Any], override: str) -> None:
    """Set ``key.path=value`` in ``raw`` in place; list items are addressed by index."""
    key, sep, text = override.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {override!r} is not of the form key.path=value")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        raise ConfigError(f"override {override!r}: value {text!r} is not valid YAML") from None
    set_key_path(raw, key.strip(), value)


def set_key_path(raw: dict[str, Any], key: str, value: Any) -> None:
    """Set ``raw[a][b]... = value`` for ``key`` ``"a.b..."`` in place (list items by index);
    missing sections are created, so an unknown key reaches validation and is named there."""
    node: Any = raw
    parts = key.split(".")
    if not all(parts):
        raise ConfigError(f"key path {key!r}: expected names separated by single dots")
    for depth, part in enumerate(parts[:-1]):
        child = _child(node, part, ".".join(parts[: depth + 1]))
        if child is None:
            child = {}
            node[part] = child
        node = child
    last = parts[-1]
    if isinstance(node, list):
        node[_index(node, last, key)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise ConfigError(f"key path {key!r}: {'.'.join(parts[:-1])} is not a section")


def _child(node: Any, part: str, path: str) -> Any:
    if isinstance(node, list):
        return node[_index(node, part, path)]
    if isinstance(node, dict):
        return node.get(part)
    raise ConfigError(f"override key {path!r}: its parent is not a section")


def _index(node: list[Any], part: str, path: str) -> int:
    if not part.isdigit() or int(part) >= len(node):
        raise ConfigError(f"override key {path!r}: expected an index below {len(node)}")
    return int(part)
