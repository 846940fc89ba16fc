"""The report as one self-contained HTML file: inline CSS and SVG, no script, no network.

Every piece of text that comes from a run (names, config, versions, column names) goes
through `esc`, so a value such as ``<script>`` is shown, never executed. The building
blocks (`table`, `chart`, number formats ...) are in `tradenn.report.markup`.
"""

from __future__ import annotations

from typing import Any

from tradenn.config import asset_name
from tradenn.report import figures
from tradenn.report.analysis import BENCHMARK, MAIN, RunAnalysis, label, sharpe_ci_text

# The page's building blocks, importable from here as before the split.
from tradenn.report.markup import (  # noqa: F401
    CSS,
    Format,
    chart,
    esc,
    frame_rows,
    num,
    page,
    pct,
    signed,
    table,
    whole,
)


def swatch(name: str, position: int, text: str | None = None) -> str:
    color = figures.strategy_color(name, position)
    return (f'<span class="swatch" style="background:{color}"></span>'
            f"{esc(label(name) if text is None else text)}")


# ----------------------------------------------------------------------------- notebook


def summary_html(analysis: RunAnalysis) -> str:
    """A backtest's headline and key numbers as an HTML fragment (a notebook's display)."""
    frame = analysis.stats
    rows = [
        [swatch(n, i), signed(pct(r["cagr"]), r["cagr"]), signed(num(r["sharpe"]), r["sharpe"]),
         esc(sharpe_ci_text(analysis.sharpe_ci[n])), pct(r["max_drawdown"]),
         _long_short_flat(_shares(analysis, n))]
        for i, (n, r) in enumerate(frame.iterrows())
    ]
    classes = ["main" if n == MAIN else "" for n in frame.index]
    findings = "".join(f"<li>{esc(t)}</li>" for t in analysis.diagnostics.get("findings", []))
    return (f"<div>{_headline(analysis)}"
            + table(["strategy", "CAGR", "Sharpe", "95% CI", "max DD", "long / short / flat"],
                    rows, classes)
            + (f"<ul>{findings}</ul>" if findings else "") + "</div>")


# ----------------------------------------------------------------------------- run report


def run_report(analysis: RunAnalysis, run_info: dict[str, Any], config_yaml: str) -> str:
    """The whole report page of one run."""
    name = run_info.get("name", "run")
    body = [
        f"<h1>{esc(name)} · backtest report</h1>",
        f'<p class="muted">{esc(run_info.get("path", ""))}</p>',
        _headline(analysis),
        _settings(analysis),
        "<h2>Performance</h2>",
        _stats_tables(analysis),
        "<h3>Sharpe ratio differences</h3>",
        _differences(analysis),
        _each_asset(analysis),
        "<h2>Diagnostics: how the variants differ, and whether the regime matters</h2>",
        _diagnostics(analysis),
        "<h2>Equity and risk</h2>",
        chart("chart-equity", figures.equity_figure(analysis),
              "Growth of 1 on a log scale, net of costs. Background: regime state; dotted "
              "lines: start of each walk-forward test fold."),
        chart("chart-drawdown", figures.drawdown_figure(analysis),
              "Drawdown from the running peak of each strategy's equity."),
        chart("chart-rolling-sharpe", figures.rolling_sharpe_figure(analysis),
              f"Annualized Sharpe ratio over the trailing year "
              f"({round(analysis.periods_per_year):,} {analysis.bar_name} bars)."),
        "<h2>Positions and the activation parameter</h2>",
        chart("chart-positions", figures.positions_figure(analysis),
              ("Net position of the portfolio (sum of its asset weights)" if analysis.pooled
               else "Position")
              + f" held from each close to the next (shaded: regime model, per "
              f"{analysis.bar_name} bar; lines: 21-bar averages)."),
        chart("chart-theta", figures.theta_figure(analysis),
              "θ of each regime-conditioned layer (ensemble mean over seeds) and the regime "
              "inputs that drive it" + (", averaged over the assets trading each date."
                                        if analysis.pooled else ".")),
        _theta_by_state(analysis),
        "<h2>By regime</h2>",
        _by_regime(analysis),
        chart("chart-regime-sharpe", figures.regime_sharpe_figure(analysis),
              "Sharpe ratio of each strategy within each regime state."),
        "<h2>By walk-forward fold</h2>",
        _by_fold(analysis),
        "<h2>Run</h2>",
        _run_facts(run_info),
        "<h3>Package versions</h3>",
        table(["package", "version"],
              [[esc(k), esc(v)] for k, v in (run_info.get("versions") or {}).items()]),
        f"<details><summary>Resolved config</summary><pre>{esc(config_yaml)}</pre></details>",
    ]
    return page(f"{name} · tradenn backtest", [part for part in body if part])


def _headline(analysis: RunAnalysis) -> str:
    main = analysis.stats.loc[MAIN]
    ci = analysis.sharpe_ci[MAIN]
    parts = [
        f"The regime model's Sharpe ratio is <b>{num(main['sharpe'])}</b> "
        f"(95% CI {esc(sharpe_ci_text(ci))}, PSR {num(main['psr'])})"
    ]
    for key, diff in analysis.differences.items():
        other = key.split(" - ", 1)[1]
        verdict = "" if diff.low > 0 or diff.high < 0 else " (interval includes 0)"
        parts.append(
            f"{'vs' if other == BENCHMARK else 'against'} {esc(label(other))}: "
            f"Δ {signed(num(diff.estimate), diff.estimate)} [{num(diff.low)}, {num(diff.high)}]"
            f"{verdict}"
        )
    return '<div class="headline">' + "; ".join(parts) + ".</div>"


def _settings(analysis: RunAnalysis) -> str:
    s, b = analysis.settings, analysis.bootstrap
    dates = analysis.results[MAIN].returns.index
    facts = {
        "period": f"{dates[0].date()} → {dates[-1].date()}",
        "bars": f"{len(dates):,} {analysis.bar_name} ({analysis.periods_per_year:g} per year, "
                "annualizing every statistic)",
        "sizing": s.sizing + (f" (threshold {s.threshold:g})" if s.sizing == "threshold" else "")
        + (f" (target vol {s.target_vol:.0%}, {s.vol_window} bars)"
           if s.sizing == "vol_target" else "")
        + (f" (target vol {s.target_vol:.0%} ÷ ex-ante σ)" if s.sizing == "vol_scaled" else ""),
        "model output": "a position in [-1, 1] (Sharpe loss)"
        if analysis.prediction_kind == "position" else "a predicted return",
        "direction": "long only" if s.long_only else "long / short",
        "leverage cap": f"{s.leverage:g}",
        "costs": f"{s.cost_bps:g} bp + {s.slippage_bps:g} bp slippage per unit traded",
        "execution": EXECUTION_NAMES[s.execution],
        "risk-free rate": f"{s.risk_free:.2%} a year",
        "bootstrap": f"{b.method} blocks"
        + (" (Politis–White length)" if b.block is None else f" of {b.block} bars")
        + f", {b.n_boot} resamples, seed {b.seed}",
    }
    if s.execution == "next_open":
        timing = ("A position decided at the close of t is filled at the open of t+1 and earns "
                  "open-to-open returns until the next fill; costs are charged at the fills.")
    else:
        timing = ("A position decided at the close of t is filled at that close and earns the "
                  "close-to-close return from t to t+1; costs are charged on each change of "
                  "position.")
    if analysis.pooled:
        facts["assets"] = f"{len(analysis.assets)}: {', '.join(analysis.assets)}"
        timing += (" The run pools several assets: each strategy holds the equal-risk "
                   "portfolio, each asset's position (sized on its own prices and volatility) "
                   "divided by the number N of assets held that date; an asset earns nothing "
                   "before its first prediction, and on a later date it has no bar it keeps its "
                   "weight (it cannot trade then) and stays one of the N. Buy & hold holds each asset held at 1/N and pays the costs of "
                   "entering and rebalancing.")
    else:
        timing += " Buy & hold is fully invested and pays the same costs on entry."
    baselines = ("Classical baselines, traded with the same sizing, costs and execution as "
                 "the model: " + "; ".join(BASELINE_WORDS[n] for n in analysis.baselines) + "."
                 if analysis.baselines else "")
    note = (f'<p class="baseline-note">Baselines: {esc(analysis.baseline_note)}.</p>'
            if analysis.baseline_note else "")
    return (_facts(facts) + f'<p class="muted">{esc(timing)} {esc(baselines)}</p>{note}'
            f"{_other_execution(analysis)}")


EXECUTION_NAMES = {"close": "at the close the model read", "next_open": "at the next open"}
BASELINE_WORDS = {"tsmom": "TSMOM, time-series momentum (the sign of the 12-month return)",
                  "macd": "MACD, a moving-average trend signal"}


def _other_execution(analysis: RunAnalysis) -> str:
    """One sentence: the regime model's Sharpe had it been filled the other way."""
    other = analysis.extra.get("other_execution")
    if not other:
        return ""
    if other.get("sharpe") is None:
        return f'<p class="muted">Sharpe filled {EXECUTION_NAMES[other["execution"]]}: not ' \
               f'available ({esc(other.get("note", ""))}).</p>'
    return (f'<p class="other-execution">Filled {EXECUTION_NAMES[other["execution"]]} instead, '
            f"the regime model's Sharpe ratio would be <b>{num(other['sharpe'])}</b> "
            f"(here: {num(analysis.stats.loc[MAIN, 'sharpe'])}).</p>")


def _facts(facts: dict[str, Any]) -> str:
    return '<div class="facts">' + "".join(
        f"<div><b>{esc(k)}</b>{esc(v)}</div>" for k, v in facts.items()) + "</div>"


def _stats_tables(analysis: RunAnalysis) -> str:
    frame = analysis.stats
    names = list(frame.index)
    classes = ["main" if n == MAIN else "" for n in names]
    risk = [
        [swatch(n, i), signed(pct(r["total_return"], 0), r["total_return"]),
         signed(pct(r["cagr"]), r["cagr"]), pct(r["annual_volatility"]),
         signed(num(r["sharpe"]), r["sharpe"]), esc(sharpe_ci_text(analysis.sharpe_ci[n])),
         num(r["psr"]), num(r.get("dsr")), num(r["sortino"]), pct(r["max_drawdown"]),
         whole(r["max_drawdown_periods"]), num(r["calmar"])]
        for i, (n, r) in enumerate(frame.iterrows())
    ]
    trading = [
        [swatch(n, i), pct(r["hit_rate"]), _long_short_flat(_shares(analysis, n)),
         pct(r["exposure"], 0), num(r["annual_turnover"], 1),
         whole(r["trades"]), num(r.get("beta")), signed(pct(r.get("alpha")), r.get("alpha")),
         num(r.get("ic_pearson"), 3), num(r.get("ic_spearman"), 3)]
        for i, (n, r) in enumerate(frame.iterrows())
    ]
    return (
        table(["strategy", "total return", "CAGR", "volatility", "Sharpe", "Sharpe 95% CI",
               "PSR", "DSR", "Sortino", "max DD", "longest DD", "Calmar"],
              risk, classes)
        + table(["strategy", "hit rate", "long / short / flat", "exposure",
                 "turnover / year", "trades",
                 "beta", "alpha / year", "IC", "rank IC"], trading, classes)
        + '<p class="muted">Max DD: worst peak-to-trough loss; longest DD: most bars spent '
        "below a previous peak. Sharpe CI: block bootstrap percentile interval. PSR: "
        "probability that the true Sharpe ratio exceeds 0 given skewness and kurtosis (Bailey &amp; López "
        "de Prado). DSR: the PSR against the best Sharpe ratio expected by luck from as many "
        "trials as the run has variants (Bailey &amp; López de Prado 2014). Hit rate: share of "
        "the periods in a position that earned a positive return. Long / short / flat: share "
        "of days on each side; exposure: mean gross position, long or short (100% for any "
        "always-invested sign strategy). Beta and alpha against buy &amp; hold. IC / rank IC: "
        "Pearson / Spearman correlation of the prediction (a baseline's signal) with the next "
        "return. TSMOM and MACD are classical baselines, not trials of the DSR."
        + (" In a pooled run every row is the equal-risk portfolio's, and long / short / "
           "flat count (date, asset) rows." if analysis.pooled else "") + "</p>"
    )


def _differences(analysis: RunAnalysis) -> str:
    rows = []
    for key, ci in analysis.differences.items():
        other = key.split(" - ", 1)[1]
        rows.append([f"{esc(label(MAIN))} − {esc(label(other))}",
                     signed(num(ci.estimate), ci.estimate), f"[{num(ci.low)}, {num(ci.high)}]",
                     pct(ci.share_above_zero, 0)])
    return table(["comparison", "Δ Sharpe", "95% CI", "resamples with Δ > 0"], rows) + (
        '<p class="muted">Both Sharpe ratios are computed on the same resampled dates '
        "(paired), so what the strategies share cancels out of the interval.</p>")


def _long_short_flat(shares: dict[str, Any] | None) -> str:
    if not shares:
        return "—"
    return " / ".join(pct(shares[k], 0) for k in ("share_long", "share_short", "share_flat"))


def _shares(analysis: RunAnalysis, name: str) -> dict[str, Any]:
    """Shares long / short / flat of any strategy's positions (buy & hold included); in a
    pooled run, of its (date, asset) rows."""
    w = analysis.row_positions[name]
    return {"share_long": (w > 0).mean(), "share_short": (w < 0).mean(),
            "share_flat": (w == 0).mean()}


def _each_asset(analysis: RunAnalysis) -> str:
    """A pooled run's strategies on each asset alone (nothing for a single asset)."""
    frame = analysis.per_asset
    if not analysis.pooled or frame.empty:
        return ""
    names = list(analysis.results)
    strategies = [swatch(n, i, _SHORT.get(n, n)) for i, n in enumerate(names)]
    sharpe, growth = [], []
    for asset in analysis.assets:
        rows = frame.loc[asset]
        main = rows.loc[MAIN]
        sharpe.append([esc(asset)]
                      + [signed(num(rows.loc[n, "sharpe"]), rows.loc[n, "sharpe"]) for n in names]
                      + [whole(main["periods"])])
        growth.append([esc(asset)]
                      + [signed(pct(rows.loc[n, "cagr"]), rows.loc[n, "cagr"]) for n in names]
                      + [pct(main["annual_volatility"]), pct(main["max_drawdown"]),
                         pct(main["share_long"], 0)])
    return (
        "<h3>Each asset</h3>"
        + table(["asset", *strategies, "bars"], sharpe,
                groups=[("", 1), ("Sharpe ratio", len(names)), ("", 1)])
        + table(["asset", *strategies, "volatility", "max DD", "long"], growth,
                groups=[("", 1), ("CAGR", len(names)), (esc(label(MAIN)), 3)])
        + '<p class="muted">Each strategy traded on the asset alone: the asset\'s own sized '
        "position (not divided by the number of assets) over its own dates, with the same "
        "costs and execution.</p>")


def _diagnostics(analysis: RunAnalysis) -> str:
    """Positions, skill against chance, θ sensitivity; pairwise agreement; IC per fold."""
    diag = analysis.diagnostics
    if not diag:
        return ""
    variants = diag["variants"]
    names = list(variants)
    classes = ["main" if n == MAIN else "" for n in names]
    rows = []
    for i, (name, d) in enumerate(variants.items()):
        s = d.get("theta_sensitivity") or {}
        rows.append([
            swatch(name, i), _long_short_flat(d), num(d["net_exposure"]), pct(d["hit_rate"]),
            pct(d["base_rate"]),
            pct(d["chance_hit_rate"]),
            signed(num(100 * (d["hit_rate"] - d["chance_hit_rate"]), 1),
                   d["hit_rate"] - d["chance_hit_rate"]),
            num(d["ic_mean"], 3), num(d["ic_std"], 3), num(d["ic_t"]),
            pct(s.get("relative")), pct(s.get("sign_changes")),
        ])
    per_variant = table(
        ["variant", "long / short / flat", "net exp.", "hit rate", "up days", "chance",
         "edge", "mean", "sd", "t", "θ sensitivity", "flips"], rows, classes,
        groups=[("", 3), ("direction of the prediction", 4), ("IC across folds", 3),
                ("regime → training mean", 2)])
    pair_rows = [[f"{esc(label(p['a']))} · {esc(label(p['b']))}",
                  pct(p["position_agreement"]), num(p["prediction_correlation"], 3)]
                 for p in diag["pairs"]]
    pairs = table(["pair", "same side", "prediction correlation"], pair_rows) if pair_rows else ""
    folds = sorted({f for d in variants.values() for f in d["ic_by_fold"]}, key=int)
    fold_rows = [[esc(f)] + [signed(num(variants[n]["ic_by_fold"].get(f), 3),
                                    variants[n]["ic_by_fold"].get(f)) for n in names]
                 for f in folds]
    ic_table = table(["fold"] + [swatch(n, i) for i, n in enumerate(names)], fold_rows)
    words = "".join(f"<li>{esc(sentence)}</li>" for sentence in diag.get("findings", []))
    return (
        f"<ul>{words}</ul>" + per_variant
        + '<p class="muted">Net exp.: mean position (long minus short). Hit rate: share of '
        "days whose predicted direction was the next return's; up days: share of those days "
        "that rose (the hit rate of always long); chance: the hit rate of a random guess "
        "that is long as often as the model; edge: hit rate minus chance, in percentage "
        "points. IC t: mean IC over folds divided by its standard error across folds. θ "
        "sensitivity: mean change of the prediction, relative to its standard deviation, "
        "when the regime input is replaced by its training mean (0 for a model that "
        "ignores the regime; under 5% reads as ignoring it); flips: share of days whose "
        "predicted direction changes then.</p>"
        + "<h3>Agreement between variants</h3>" + pairs
        + "<h3>IC per walk-forward fold</h3>" + ic_table
    )


def _theta_by_state(analysis: RunAnalysis) -> str:
    frame = analysis.theta_by_state
    if frame is None or frame.empty:
        return ""
    rows = [[esc(analysis.state_label(s))] + [num(v, 4) for v in row]
            for s, row in frame.iterrows()]
    return "<h3>Mean θ by regime state</h3>" + table(
        ["state"] + [esc(c) for c in frame.columns], rows)


def _by_regime(analysis: RunAnalysis) -> str:
    source = f'<p class="muted">States: {esc(analysis.regime_source)}.</p>'
    if not analysis.by_regime:
        return source
    rows, classes = [], []
    names = list(analysis.by_regime)
    states = list(analysis.by_regime[names[0]].index)
    for state in states:
        for i, name in enumerate(names):
            r = analysis.by_regime[name].loc[state]
            first = i == 0
            rows.append([
                esc(analysis.state_label(state)) if first else "", swatch(name, i),
                whole(r["periods"]), pct(r["share"], 0), signed(pct(r["cagr"]), r["cagr"]),
                pct(r["annual_volatility"]), signed(num(r["sharpe"]), r["sharpe"]),
                num(r["sortino"]), pct(r["max_drawdown"]), pct(r["hit_rate"]),
                pct(r.get("exposure"), 0), whole(r.get("trades")), num(r.get("beta")),
            ])
            classes.append("main" if name == MAIN else "")
    return source + table(
        ["state", "strategy", "bars", "share", "CAGR", "volatility", "Sharpe", "Sortino",
         "max drawdown", "hit rate", "exposure", "trades", "beta"], rows, classes, left=2
    ) + ('<p class="muted">Each return is counted in the state known when its position was '
         "decided (the previous close). Drawdowns chain the state's returns together.</p>")


# Column headers of the wide per-fold and per-asset tables.
_SHORT = {MAIN: "regime", BENCHMARK: "B&H", "shuffled_regime": "shuffled", "tsmom": "TSMOM",
          "macd": "MACD"}


def _by_fold(analysis: RunAnalysis) -> str:
    frame = analysis.by_fold
    names = list(analysis.results)
    dates = analysis.folds.index
    rows = []
    for fold, row in frame.iterrows():
        span = dates[analysis.folds.to_numpy() == fold]
        rows.append([esc(f"{fold}"), esc(f"{span[0].date()} → {span[-1].date()}")]
                    + [signed(num(row[("sharpe", n)]), row[("sharpe", n)]) for n in names]
                    + [signed(pct(row[("total_return", n)], 0), row[("total_return", n)])
                       for n in names])
    strategies = [swatch(n, i, _SHORT.get(n, n)) for i, n in enumerate(names)]
    return table(["fold", "test span", *strategies, *strategies], rows, left=2,
                 groups=[("", 2), ("Sharpe ratio", len(names)), ("total return", len(names))])


def _run_facts(run_info: dict[str, Any]) -> str:
    data = run_info.get("data") or {}
    source = data.get("source")
    if isinstance(source, list):  # a pooled run: its assets, each from its first bar
        spans = data.get("assets") or {}
        source = ", ".join(f"{s} (from {spans[s]['start']})" if s in spans else str(s)
                           for s in (asset_name(str(s)) for s in source))
    facts = {
        "name": run_info.get("name"),
        "status": run_info.get("status"),
        "created": run_info.get("created"),
        "data source": f"{source} ({data.get('provider', '?')})",
        "data range": f"{data.get('start')} → {data.get('end')}",
        "data rows": data.get("rows"),
        "data hash": data.get("hash"),
        "variants": ", ".join(map(str, run_info.get("variants") or [])),
        "seeds": ", ".join(map(str, run_info.get("seeds") or [])),
        "folds": len(run_info.get("folds") or []),
    }
    folds = run_info.get("folds") or []
    fold_table = table(
        ["fold", "train", "test", "status"],
        [[esc(f.get("index")), esc(f"{f.get('train_start')} → {f.get('train_end')}"),
          esc(f"{f.get('test_start')} → {f.get('test_end')}"), esc(f.get("status"))]
         for f in folds],
    ) if folds else ""
    return _facts(facts) + fold_table
