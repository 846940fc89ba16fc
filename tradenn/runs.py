"""The run directory: where a training run writes, and how later commands read it back.

Layout of ``runs/<name>-<YYYYmmdd-HHMMSS>/``::

    manifest.json     status (running / complete / failed), per-fold status, data hash,
                      versions, seeds, fold boundaries; written first and last
    config.yaml       the resolved config, every default written out
    predictions.csv   date, fold, asset, open, close, target, sigma, prediction,
                      prediction_<variant>, prediction[_<variant>]_seed<k>, signal_tsmom,
                      signal_macd, theta_<layer>, regime_<column>, state; one row per date
                      and asset (a pooled run has several assets)
    history.csv       fold, variant, seed, epoch, loss, val_loss
    metrics.json      prediction metrics per variant
    model.keras       the main variant's model of the last fold (first seed)
    folds/fold_<k>/   each fold's results, so an interrupted run can resume:
                      <variant>_seed<s>.keras (every model), regime.json (the fitted
                      regime's numbers; regime_<asset>.json per asset in a pooled run
                      without a shared regime), scalers.json (per asset when pooled),
                      predictions.csv, history.csv

A run holds only JSON, YAML, CSV and ``.keras`` files (loaded with ``safe_mode=True``): opening
a run someone sent you never runs their code.

Every file is written to a temporary name and renamed into place, so a reader sees either
the old file or the new one, never half of one. A run counts as finished only when its
manifest says ``complete``; the manifest is the last file written.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from tradenn.config import ExperimentConfig, load_config
from tradenn.errors import RunError
from tradenn.files import read_json, write_json_atomic

__all__ = [
    "COMPLETE", "FAILED", "INTERRUPTED", "MAIN_VARIANT", "MANIFEST", "RUNNING", "Run",
    "open_complete_run", "open_run", "prediction_column",
]

MANIFEST = "manifest.json"
RUNNING, COMPLETE, FAILED, INTERRUPTED = "running", "complete", "failed", "interrupted"
MAIN_VARIANT = "regime"  # the regime model; its ablations are named after what they remove


def prediction_column(variant: str, seed: int | None = None) -> str:
    """``prediction``, ``prediction_no_regime``, ``prediction_seed3``, ..."""
    name = "prediction" if variant == MAIN_VARIANT else f"prediction_{variant}"
    return name if seed is None else f"{name}_seed{seed}"


@dataclass
class Run:
    """A run directory and its manifest."""

    path: Path
    manifest: dict[str, Any]

    @classmethod
    def create(cls, root: str | os.PathLike[str], name: str, *, path: str | os.PathLike[str] |
               None = None, **manifest: Any) -> Run:
        """Make ``root/<name>-<timestamp>`` (or exactly ``path``, which must not exist yet)
        with a ``running`` manifest."""
        if path is None:
            path = unique_stamped_dir(root, name)
        path = Path(path)
        try:
            path.mkdir(parents=True)
        except OSError as exc:
            raise RunError(f"cannot create run directory {path}: {exc.strerror}") from exc
        run = cls(path=path, manifest={"name": name, "status": RUNNING, **manifest})
        run.manifest["created"] = dt.datetime.now().isoformat(timespec="seconds")
        run.save_manifest()
        return run

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Run:
        """Read a run directory's manifest; any status."""
        path = Path(path)
        manifest_path = path / MANIFEST
        if not path.is_dir():
            raise RunError(f"run directory {path} not found")
        if not manifest_path.is_file():
            raise RunError(f"{path} is not a tradenn run (no {MANIFEST})")
        manifest = read_json(manifest_path)
        if not isinstance(manifest, dict) or not isinstance(manifest.get("folds", []), list):
            raise RunError(f"{manifest_path}: expected a run manifest (a JSON object with folds)")
        return cls(path=path, manifest=manifest)

    @property
    def status(self) -> str:
        return str(self.manifest.get("status"))

    def require_complete(self) -> Run:
        """Raise `RunError` unless training finished; say how to finish it otherwise."""
        if self.status != COMPLETE:
            resumable = self.status in (RUNNING, FAILED, INTERRUPTED)
            hint = f"; resume it with: tradenn train --resume {self.path}" if resumable else ""
            raise RunError(f"run {self.path} is not complete (status: {self.status}){hint}")
        return self

    def save_manifest(self) -> None:
        self.manifest["updated"] = dt.datetime.now().isoformat(timespec="seconds")
        write_json_atomic(self.path / MANIFEST, self.manifest)

    def mark(self, status: str, **fields: Any) -> None:
        """Set the run's status (and any other manifest fields) and save."""
        self.manifest.update(status=status, **fields)
        self.save_manifest()

    # ----- reading results back

    def config(self) -> ExperimentConfig:
        return load_config(self.path / "config.yaml")

    def predictions(self) -> pd.DataFrame:
        """``predictions.csv`` indexed by date."""
        path = self.path / "predictions.csv"
        if not path.is_file():
            raise RunError(f"{path} not found")
        return pd.read_csv(path, index_col="date", parse_dates=["date"])

    def file(self, name: str) -> Path:
        """Path of a file in the run, which must exist."""
        path = self.path / name
        if not path.exists():
            raise RunError(f"{path} not found")
        return path

    # ----- each fold's fitted pieces

    def fold_record(self, fold: int = -1) -> dict[str, Any]:
        """The manifest's entry of fold ``fold`` (negative counts from the last)."""
        folds = self.manifest.get("folds", [])
        if not -len(folds) <= fold < len(folds):
            raise RunError(f"run {self.path}: no fold {fold}; it has folds 0..{len(folds) - 1}")
        return folds[fold]

    def fold_dir(self, fold: int = -1) -> Path:
        return self.path / "folds" / f"fold_{self.fold_record(fold)['index']}"

    def model_path(self, fold: int = -1, variant: str = MAIN_VARIANT, seed: int | None = None) -> Path:
        """The ``.keras`` file of one fold, variant and seed (default: the first seed)."""
        variants = self.manifest.get("variants", [MAIN_VARIANT])
        seeds = self.manifest.get("seeds", [0])
        if variant not in variants:
            raise RunError(f"run {self.path}: no variant {variant!r}; it has {variants}")
        seed = seeds[0] if seed is None else seed
        if seed not in seeds:
            raise RunError(f"run {self.path}: no seed {seed}; it has {seeds}")
        return self.fold_dir(fold) / f"{variant}_seed{seed}.keras"

    def load_model(self, fold: int = -1, variant: str = MAIN_VARIANT, seed: int | None = None) -> Any:
        """The trained ``keras.Model`` of one fold, variant and seed (``safe_mode=True``).

        Example:
            >>> run = tradenn.open_run("runs/spy-lstm-20260101-120000")
            >>> model = run.load_model(fold=2, variant="no_regime", seed=1)
        """
        from tradenn.loading import load_model

        return load_model(self.model_path(fold, variant, seed), plugins=self.plugins())

    def plugins(self) -> list[str]:
        """Import the plugin modules the run was trained with; return their names.

        Raises:
            ConfigError: a plugin module cannot be imported (one message naming it).
        """
        from tradenn.plugins import import_plugins

        return import_plugins(self.manifest.get("plugins") or [], what=f"run {self.path} plugins")

    def load_regime(self, fold: int = -1, asset: str | None = None) -> Any:
        """The regime fitted on fold ``fold``'s training window (a `CompositeRegime`); in a
        pooled run with a regime per asset, ``asset``'s."""
        from tradenn.regimes.registry import regime_from_dict

        fold_dir = self.fold_dir(fold)
        own = fold_dir / f"regime_{asset}.json"
        if asset is not None and own.is_file():
            return regime_from_dict(read_json(own), source=str(own))
        if (fold_dir / "regime.pkl").exists() and not (fold_dir / "regime.json").exists():
            raise RunError(
                f"run {self.path} was written by tradenn 0.1 and stores its regime as a pickle, "
                "which tradenn no longer loads (a pickle can run code); train it again"
            )
        path = self.file(str((fold_dir / "regime.json").relative_to(self.path)))
        return regime_from_dict(read_json(path), source=str(path))

    def load_scalers(self, fold: int = -1, asset: str | None = None) -> Any:
        """The feature and target scalers fitted on fold ``fold``'s training rows (in a
        pooled run, on ``asset``'s rows)."""
        from tradenn.walkforward import FoldScalers

        path = self.file(str((self.fold_dir(fold) / "scalers.json").relative_to(self.path)))
        try:
            data = read_json(path)
            if "assets" in data:
                if asset not in data["assets"]:
                    raise RunError(f"{path}: no scalers for asset {asset!r}; this fold has "
                                   f"{sorted(data['assets'])}")
                data = data["assets"][asset]
            return FoldScalers.from_dict(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise RunError(f"{path}: not the scalers tradenn wrote ({exc!r})") from None


    def backtest(self, *, write: bool = False, **overrides: Any) -> Any:
        """Backtest this (complete) run; returns a `tradenn.report.BacktestSummary`.

        ``overrides`` are the `tradenn.report.backtest_run` settings (``sizing``,
        ``cost_bps``, ``long_only``, ``threshold``, ``leverage``, ``target_vol``,
        ``slippage_bps``, ``vol_window``, ``bootstrap``); the rest come from the run's
        config. Nothing is written unless ``write=True`` (then ``backtest.json``,
        ``backtest_returns.csv`` and ``report.html`` are replaced, as by the CLI).

        Example:
            >>> summary = run.backtest(sizing="threshold", threshold=0.0005)
            >>> summary.table(); summary.diagnostics; summary.figure("equity")
        """
        from tradenn.report import backtest_run  # matplotlib is loaded only when needed

        return backtest_run(self.path, write=write, **overrides)

    def _repr_html_(self) -> str:
        """The run at a glance for a notebook: status, data, folds, variants and, when the
        run has been backtested, its strategies' key numbers from ``backtest.json``."""
        import html

        m = self.manifest
        data = m.get("data") or {}
        folds = m.get("folds") or []
        facts = {
            "status": m.get("status"),
            "data": f"{data.get('source')} {data.get('start')} → {data.get('end')}",
            "folds": f"{len(folds)}" + (f" (tests {folds[0].get('test_start')} → "
                                        f"{folds[-1].get('test_end')})" if folds else ""),
            "variants": ", ".join(map(str, m.get("variants") or [])),
            "seeds": ", ".join(map(str, m.get("seeds") or [])),
        }
        rows = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                       f"<td style='text-align:left'>{html.escape(str(v))}</td></tr>"
                       for k, v in facts.items())
        out = (f"<div><b>tradenn run {html.escape(str(m.get('name')))}</b> "
               f"<code>{html.escape(str(self.path))}</code><table>{rows}</table>")
        backtest = self.path / "backtest.json"
        if backtest.is_file():
            out += _backtest_table(read_json(backtest))
        return out + "</div>"


def _backtest_table(document: dict[str, Any]) -> str:
    """Key numbers of ``backtest.json`` as an HTML table (for `Run._repr_html_`)."""
    import html

    def fmt(value: Any, spec: str) -> str:
        return "—" if value is None else format(value, spec)

    variants = (document.get("diagnostics") or {}).get("variants") or {}
    head = ("<tr><th>strategy</th><th>CAGR</th><th>Sharpe</th><th>95% CI</th><th>max DD</th>"
            "<th>long</th></tr>")
    body = []
    for name, row in (document.get("strategies") or {}).items():
        ci = row.get("sharpe_ci") or {}
        interval = ("—" if ci.get("low") is None
                    else f"[{ci['low']:.2f}, {ci['high']:.2f}]")
        long = (variants.get(name) or {}).get("share_long")
        body.append(f"<tr><td>{html.escape(name)}</td><td>{fmt(row.get('cagr'), '.1%')}</td>"
                    f"<td>{fmt(row.get('sharpe'), '.2f')}</td><td>{interval}</td>"
                    f"<td>{fmt(row.get('max_drawdown'), '.1%')}</td><td>{fmt(long, '.0%')}</td></tr>")
    settings = document.get("settings") or {}
    caption = (f"backtest: {settings.get('sizing')} sizing, {settings.get('cost_bps')} bp "
               f"({document.get('period', {}).get('start')} → "
               f"{document.get('period', {}).get('end')})")
    return (f"<p>{html.escape(caption)}</p><table><thead>{head}</thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def unique_stamped_dir(root: str | os.PathLike[str], name: str) -> Path:
    """``root/<name>-<YYYYmmdd-HHMMSS>``, suffixed ``-2``, ``-3``... if that exists."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = Path(root) / f"{name}-{stamp}"
    suffix = 1
    while path.exists():  # two runs in the same second
        suffix += 1
        path = Path(root) / f"{name}-{stamp}-{suffix}"
    return path


def open_run(path: str | os.PathLike[str]) -> Run:
    """A run directory, any status, to read from Python.

    Example:
        >>> run = tradenn.open_run("runs/spy-lstm-20260101-120000")
        >>> run.predictions()[["prediction", "prediction_no_regime"]].tail()
    """
    return Run.open(path)


def open_complete_run(path: str | os.PathLike[str]) -> Run:
    """A finished run, or a `RunError` saying why it cannot be used."""
    return Run.open(path).require_complete()
