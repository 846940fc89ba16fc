"""The ``tradenn`` command line: each command parses, calls one library function, prints.

Heavy imports (TensorFlow, pandas, matplotlib) happen inside the commands so that
``tradenn --help`` is instant. A `TradennError` becomes one line on stderr and exit code 1;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

# Before TensorFlow is imported anywhere: keep its C++ start-up chatter off the terminal.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Regime-conditioned neural activations for trading research.",
)
data_app = typer.Typer(no_args_is_help=True, help="Check and fetch market data.")
app.add_typer(data_app, name="data")
activations_app = typer.Typer(
    no_args_is_help=True, help="List, check and plot activation families (yours too)."
)
app.add_typer(activations_app, name="activations")


class _ShowByDefault(TyperGroup):
    """``tradenn regimes CONFIG`` means ``tradenn regimes show CONFIG``."""

    def parse_args(self, ctx, args):  # click's signature
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["show", *args]
        return super().parse_args(ctx, args)


regimes_app = typer.Typer(
    cls=_ShowByDefault, no_args_is_help=True,
    help="Show a config's regime over history (regimes CONFIG), or check its causality.",
)
app.add_typer(regimes_app, name="regimes")
PluginOption = Annotated[
    Optional[list[str]],  # noqa: UP045 - typer needs Optional here
    typer.Option("--plugin", help="Import this module first (it registers families); repeatable."),
]

# `--mlflow` alone logs to ./mlruns; `--mlflow URI` to that store.
MlflowOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--mlflow", is_flag=False, flag_value="./mlruns", metavar="[URI]",
                 help="Log to MLflow (default store ./mlruns; needs the mlflow extra)."),
]

SetOption = Annotated[
    Optional[list[str]],  # noqa: UP045 - typer needs Optional here
    typer.Option("--set", help="Override a config value: key.path=value (repeatable)."),
]


def main() -> None:
    """The console script: the app, with TensorFlow's native log noise filtered out."""
    from tradenn.native_stderr import filter_native_stderr

    filter_native_stderr()
    app(prog_name="tradenn")


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {message}", file=sys.stderr)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn tradenn's errors into one line on stderr and a non-zero exit."""
    from tradenn.errors import TradennError

    warnings.showwarning = _one_line_warning
    try:
        yield
    except TradennError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(130) from None


@app.command()
def train(
    config: Annotated[Optional[Path], typer.Argument(help="Experiment YAML, e.g. configs/spy.yaml.")] = None,  # noqa: UP045
    overrides: SetOption = None,
    runs_dir: Annotated[Path, typer.Option(help="Where run directories go.")] = Path("runs"),
    resume: Annotated[Optional[Path], typer.Option(help="Finish an interrupted run directory.")] = None,  # noqa: UP045
    backtest: Annotated[bool, typer.Option("--backtest", help="Backtest the run when training ends.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    mlflow: MlflowOption = None,
    workers: Annotated[Optional[int], typer.Option(help="Models trained at once as Ray tasks (sets train.workers).")] = None,  # noqa: UP045
) -> None:
    """Train an experiment walk-forward and write a run directory."""
    with _user_errors():
        from tradenn.config import load_config
        from tradenn.errors import ConfigError

        if resume is not None:
            if config is not None or overrides:
                raise ConfigError("--resume takes the run's own config; drop CONFIG and --set")
            from tradenn.experiment import resume_run

            run = resume_run(resume, quiet=quiet, workers=workers)
        else:
            if config is None:
                raise ConfigError("missing CONFIG (a YAML file such as configs/spy.yaml)")
            workers_set = [] if workers is None else [f"train.workers={workers}"]
            experiment_config = load_config(config, [*(overrides or []), *workers_set])
            from tradenn.experiment import train_run

            run = train_run(experiment_config, runs_dir=runs_dir, quiet=quiet)
        typer.echo(f"run complete: {run.path}")
        if backtest or mlflow:
            _backtest(run.path)
        if mlflow:
            from tradenn.tracking import log_run

            typer.echo(f"mlflow run {log_run(run.path, mlflow)} in {mlflow}")


@app.command()
def sweep(
    spec: Annotated[Optional[Path], typer.Argument(help="A sweep file, e.g. configs/sweeps/demo.yaml.")] = None,  # noqa: UP045
    address: Annotated[Optional[str], typer.Option(help="A Ray cluster: auto or HOST:PORT (default: a local Ray).")] = None,  # noqa: UP045
    max_concurrent: Annotated[Optional[int], typer.Option(help="Trials running at once (default: the machine's cores; 1 runs them serially in this process).")] = None,  # noqa: UP045
    resume: Annotated[Optional[Path], typer.Option(help="Finish this sweep directory.")] = None,  # noqa: UP045
    sweeps_dir: Annotated[Path, typer.Option(help="Where sweep directories go.")] = Path("sweeps"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    mlflow: MlflowOption = None,
) -> None:
    """Run every combination of a grid of config overrides as a trial; rank them fairly."""
    with _user_errors():
        from tradenn.errors import ConfigError
        from tradenn.sweeps.runner import run_sweep

        if (spec is None) == (resume is None):
            raise ConfigError("give a sweep file, or --resume SWEEP_DIR (not both)")
        if max_concurrent is None:
            max_concurrent = os.cpu_count() or 1
        result, summary = run_sweep(spec, sweeps_dir=sweeps_dir, resume=resume,
                                    max_concurrent=max_concurrent, address=address, quiet=quiet)
        failed = result.manifest.get("failed", [])
        typer.echo(f"sweep complete: {result.path} ({summary['completed']} of "
                   f"{summary['trials']} trials, {len(failed)} failed)")
        if summary["best"] is not None:
            pbo = "n/a" if summary["pbo"] is None else f"{summary['pbo']:.2f}"
            typer.echo(f"best trial {summary['best']}: DSR {summary['dsr_best']:.2f} given "
                       f"{summary['completed']} trials; PBO {pbo}")
        typer.echo(f"results: {result.path / 'results.csv'}; report: {result.path / 'report.html'}")
        if mlflow:
            from tradenn.tracking import log_sweep

            typer.echo(f"mlflow run {log_sweep(result.path, summary, mlflow)} in {mlflow}")


@app.command("backtest")
def backtest_command(
    run_dir: Annotated[Path, typer.Argument(help="A run directory written by `tradenn train`.")],
    cost_bps: Annotated[Optional[float], typer.Option(help="Cost per unit of turnover, in basis points.")] = None,  # noqa: UP045
    sizing: Annotated[Optional[str], typer.Option(help="sign, threshold, proportional, vol_target, vol_scaled or model.")] = None,  # noqa: UP045
    long_only: Annotated[Optional[bool], typer.Option("--long-only/--long-short", help="Forbid short positions.")] = None,  # noqa: UP045
    threshold: Annotated[Optional[float], typer.Option(help="threshold sizing: flat while |prediction| <= this.")] = None,  # noqa: UP045
    leverage: Annotated[Optional[float], typer.Option(help="Cap on |position|.")] = None,  # noqa: UP045
    target_vol: Annotated[Optional[float], typer.Option(help="vol_target / vol_scaled sizing: annualized target.")] = None,  # noqa: UP045
    slippage_bps: Annotated[Optional[float], typer.Option(help="Slippage per unit of turnover, in bp.")] = None,  # noqa: UP045
    execution: Annotated[Optional[str], typer.Option(help="close (fill at the close the model read) or next_open.")] = None,  # noqa: UP045
) -> None:
    """Backtest a run's predictions and write backtest.json and report.html.

    Options left out take the run config's `backtest:` values.
    """
    with _user_errors():
        _backtest(run_dir, cost_bps=cost_bps, sizing=sizing, long_only=long_only,
                  threshold=threshold, leverage=leverage, target_vol=target_vol,
                  slippage_bps=slippage_bps, execution=execution)


def _backtest(run_dir: Path, **options: object) -> None:
    from tradenn.report import backtest_run
    from tradenn.report.analysis import label

    summary = backtest_run(run_dir, **options)
    _print_table(summary.table())
    analysis = summary.analysis
    if analysis.baseline_note:
        typer.echo(f"baselines: {analysis.baseline_note}")
    if analysis.pooled:
        typer.echo(f"equal-risk portfolio of {len(analysis.assets)} assets; Sharpe ratio of "
                   "each strategy on each asset alone:")
        _print_table(summary.per_asset["sharpe"].unstack("strategy")
                     .reindex(columns=list(analysis.results)).rename(columns=label))
    for finding in summary.analysis.diagnostics.get("findings", []):
        typer.echo(f"- {finding}")
    other = summary.analysis.extra.get("other_execution") or {}
    if other.get("sharpe") is not None:
        typer.echo(f"execution: {summary.analysis.settings.execution}; the regime model's Sharpe "
                   f"filled {other['execution']} instead: {other['sharpe']:.2f}")
    typer.echo(f"report: {summary.report_path}")


# Columns shown as percentages (value: decimals); everything else as a plain number.
_PERCENT = {"CAGR": 1, "vol": 1, "max DD": 1, "long": 0, "share": 1, "ann_volatility": 1, "mean_return": 3}


def _print_table(frame) -> None:  # a pandas DataFrame
    from rich.console import Console
    from rich.table import Table

    table = Table(show_header=True, header_style="bold")
    table.add_column(frame.index.name or "")
    for column in frame.columns:
        table.add_column(str(column), justify="right")
    for index, row in frame.iterrows():
        table.add_row(str(index), *[_cell(v, _PERCENT.get(str(c))) for c, v in row.items()])
    console = Console()
    console.width = max(console.width, 120)  # logs and pipes report 80 columns: too narrow
    console.print(table)


def _cell(value: object, percent_decimals: int | None) -> str:
    if isinstance(value, float):
        if value != value:
            return "—"
        if percent_decimals is not None:
            return f"{value:.{percent_decimals}%}"
        return f"{value:,.2f}" if abs(value) >= 100 else f"{value:.3f}"
    return str(value)


@app.command()
def compare(
    run_dirs: Annotated[list[Path], typer.Argument(help="Two or more run directories.")],
    out: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("compare.html"),
) -> None:
    """Put several runs side by side: one table, one equity chart."""
    with _user_errors():
        from tradenn.report import compare_runs

        _print_table(compare_runs(run_dirs, out))
        typer.echo(f"comparison: {out}")


@app.command()
def predict(
    run_dir: Annotated[Path, typer.Argument(help="A complete run directory.")],
    asof: Annotated[Optional[str], typer.Option(help="Use bars up to this date (YYYY-MM-DD).")] = None,  # noqa: UP045
    provider: Annotated[str, typer.Option(help="Where the latest bars come from: auto, cache, yfinance, bundled.")] = "auto",
) -> None:
    """Print the signal and position for the next session from the run's latest model
    (each asset's, for a pooled run)."""
    with _user_errors():
        from tradenn.predicting import predict_assets

        for signal in predict_assets(run_dir, asof=asof, provider=provider):
            typer.echo(signal.describe())


@regimes_app.command("show")
def regimes(
    config: Annotated[Path, typer.Argument(help="Experiment YAML.")],
    overrides: SetOption = None,
    out: Annotated[Path, typer.Option(help="Folder for regimes.png and regimes.csv.")] = Path("regimes"),
) -> None:
    """Fit the config's regime on its first training window and show it over history."""
    with _user_errors():
        from tradenn.config import load_config
        from tradenn.regimes.analysis import analyze_regimes

        analysis = analyze_regimes(load_config(config, overrides or []), out)
        _print_table(analysis.table)
        fit_end = str(analysis.fit_end)[:10]  # a Timestamp: its date is what matters
        typer.echo(f"fitted on bars up to {fit_end}; figure: {analysis.figure_path}")


@regimes_app.command("check")
def regimes_check(
    config: Annotated[Path, typer.Argument(help="Experiment YAML.")],
    overrides: SetOption = None,
    cuts: Annotated[int, typer.Option(help="Cut dates per detector.")] = 8,
) -> None:
    """Check that each detector of the config is causal on the config's bars (exit 1 if not)."""
    with _user_errors():
        from tradenn.config import load_config
        from tradenn.regimes.causality import LookAheadError, config_causality

        failed = []
        for label, found in config_causality(load_config(config, overrides or []), cuts=cuts):
            typer.echo(f"regime.detectors.{label}: " + ("causal" if found is None else found.describe()))
            if found is not None:
                failed.append(label)
        if failed:
            raise LookAheadError(f"{len(failed)} detector(s) not causal: {', '.join(failed)}")


@activations_app.command("list")
def activations_list(plugins: PluginOption = None) -> None:
    """The registered families: formula, θ range, default, derivatives, origin."""
    with _user_errors():
        import pandas as pd

        from tradenn.activations import ACTIVATIONS
        from tradenn.plugins import import_plugins

        import_plugins(plugins or [], what="--plugin")
        rows = [{"family": s.name, "f(x, θ)": s.formula, "θ range": s.range_text(),
                 "default θ": f"{s.default:g}",
                 "derivatives": "analytic" if s.analytic else "autodiff only",
                 "from": "built-in" if s.builtin else s.source} for s in ACTIVATIONS.values()]
        _print_table(pd.DataFrame(rows).set_index("family"))


@activations_app.command("check")
def activations_check(
    name: Annotated[str, typer.Argument(help="A family name.")],
    plugins: PluginOption = None,
) -> None:
    """Compare a family's dx and dtheta with finite differences (exit 1 if one is wrong)."""
    with _user_errors():
        from tradenn.activations import check_activation
        from tradenn.plugins import import_plugins

        import_plugins(plugins or [], what="--plugin")
        typer.echo(check_activation(name).describe())


@activations_app.command("plot")
def activations_plot(
    name: Annotated[str, typer.Argument(help="A family name.")],
    thetas: Annotated[Optional[str], typer.Option(help="Comma-separated θ values, e.g. 0.5,1,2.")] = None,  # noqa: UP045
    out: Annotated[Path, typer.Option(help="PNG file to write.")] = Path("activation.png"),
    plugins: PluginOption = None,
) -> None:
    """Draw f(x, θ) and ∂f/∂x for several θ."""
    with _user_errors():
        from tradenn.activations import plot
        from tradenn.errors import ConfigError
        from tradenn.files import write_atomic
        from tradenn.plugins import import_plugins

        import_plugins(plugins or [], what="--plugin")
        try:
            values = None if thetas is None else [float(t) for t in thetas.split(",")]
        except ValueError:
            raise ConfigError(f"--thetas: expected numbers separated by commas, got {thetas!r}") from None
        figure = plot(name, values)
        write_atomic(out, lambda tmp: figure.savefig(tmp, format="png", dpi=110))
        typer.echo(f"figure: {out}")


@data_app.command("check")
def data_check(path: Annotated[Path, typer.Argument(help="A CSV or Parquet file of daily bars.")]) -> None:
    """Validate a bars file and summarize it (exit 1 when it is not usable)."""
    with _user_errors():
        from tradenn.data import check_bars_file
        from tradenn.errors import DataError

        check = check_bars_file(path)
        for message in check.warnings:
            typer.echo(f"warning: {message}", err=True)
        if not check.usable:
            raise DataError(str(check.error))
        typer.echo(f"{path}: {check.rows} rows from {check.first} to {check.last}")
        if check.spacing is None:
            typer.echo(f"gaps over 4 calendar days: {len(check.gaps)}")
        else:
            typer.echo(f"bars every {check.spacing}; gaps beyond the recurring nights and "
                       f"weekends: {len(check.gaps)}")
        unit = "days" if check.spacing is None else "bar spacings"
        for before, after, length in check.gaps:
            typer.echo(f"  {before} -> {after} ({length} {unit})")
        typer.echo("usable" + (f", with {len(check.warnings)} warning(s)" if check.warnings else ""))


@data_app.command("fetch")
def data_fetch(
    ticker: Annotated[str, typer.Argument(help="A Yahoo ticker such as SPY.")],
    start: Annotated[Optional[str], typer.Option(help="First date (YYYY-MM-DD).")] = None,  # noqa: UP045
    end: Annotated[Optional[str], typer.Option(help="Last date (YYYY-MM-DD), inclusive.")] = None,  # noqa: UP045
    interval: Annotated[str, typer.Option(help="Bar interval: 1d, 1wk, 1h, 30m, 15m, 5m, 1m.")] = "1d",
) -> None:
    """Download bars with yfinance into the on-disk cache (keyed by ticker and interval)."""
    with _user_errors():
        from tradenn.data import cache_path, fetch_yfinance

        bars = fetch_yfinance(ticker, start, end, interval=interval)
        typer.echo(
            f"{ticker}: {len(bars)} {interval} bars from {bars.index[0]} to {bars.index[-1]} "
            f"cached in {cache_path(ticker, interval)}"
        )
