"""The `dtsen` command: one subcommand per pipeline stage, each a thin call into the library."""
from __future__ import annotations

import argparse
import json
import logging
import sys

from dtsen.config import ConfigError, load_config
from dtsen.spark import EnvironmentProblem


def _spark(conf, app: str):
    from dtsen.spark import get_spark

    return get_spark(conf, app)


def cmd_generate(args: argparse.Namespace) -> int:
    from dtsen.synth.generate import generate

    conf = load_config(args.env)
    spark = _spark(conf, "generate")
    summary = generate(spark, conf, residents=args.residents, seed=args.seed, cycle=args.cycle)
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        errs = ", ".join(f"{k} {v}" for k, v in sorted(summary["file_errors"].items())) or "none"
        print(f"generated {summary['cycle']} (seed {summary['seed']}): {summary['residents']:,} residents in "
              f"{summary['families']:,} families; {summary['records']:,} agency records in {summary['files']} files "
              f"(damaged files: {errs}) -> {summary['landing']} in {summary['wall_seconds']} s")
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    from dtsen.summary import cycle_summary, render

    conf = load_config(args.env)
    summary = cycle_summary(_spark(conf, "summary"), conf, args.cycle)
    print(json.dumps(summary, indent=2, default=str) if args.json else render(summary))
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from dtsen.ingest.job import ReconciliationError, ingest

    conf = load_config(args.env)
    try:
        summary = ingest(_spark(conf, "ingest"), conf, cycle=args.cycle, source=args.source)
    except ReconciliationError as exc:
        print(f"dtsen ingest: {exc}", file=sys.stderr)
        return 3
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        print(f"ingested {summary['cycle']}: {summary['files_read']} files read, {summary['files_skipped']} already "
              f"ingested, {summary['files_rejected']} rejected; rows in {summary['rows_in']:,} = accepted "
              f"{summary['rows_accepted']:,} + quarantined {summary['rows_quarantined']:,}; "
              f"report {summary['report'] or 'by the quality gate'} ({summary['wall_seconds']} s)")
    return 0


def cmd_resolve(args: argparse.Namespace) -> int:
    from dtsen.resolve.job import resolve

    conf = load_config(args.env)
    s = resolve(_spark(conf, "resolve"), conf, cycle=args.cycle)
    if args.json:
        print(json.dumps(s, indent=2, default=str))
    else:
        print(f"resolved {s['cycle']}: {s['registry_records']:,} registry records -> {s['residents']:,} residents "
              f"({s['registry_duplicate_records']:,} duplicate registrations, {s['nik_conflicts']:,} NIK conflicts); "
              f"{s['agency_records_linked']:,} of {s['agency_records']:,} agency records linked; review "
              f"{s['review']}; {s['id_changes']} id changes ({s['wall_seconds']} s)")
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    from dtsen.profile.job import profile

    conf = load_config(args.env)
    spark = _spark(conf, "profile")
    s = profile(spark, conf, cycle=args.cycle)
    if args.evaluate:
        from dtsen.profile.evaluate import evaluate

        s["evaluation"] = evaluate(spark, conf, args.cycle)
    if args.json:
        print(json.dumps(s, indent=2, default=str))
        return 0
    rules = ", ".join(f"{k} {v:,}" for k, v in s["flags_by_rule"].items())
    print(f"profiled {s['cycle']} (rules {s['rule_version']}): {s['families']:,} families; "
          f"{s['data_incomplete']:,} with key data missing; {s['flagged_families']:,} flagged "
          f"({s['outcomes']['exclude']:,} exclude, {s['outcomes']['review']:,} review) -> review queue; "
          f"flags: {rules}; changes since {s['previous_cycle'] or '-'}: {s['changes'] or '-'} ({s['wall_seconds']} s)")
    ev = s.get("evaluation")
    if ev:
        hw = ev["hidden_wealth"]
        print(f"  injected hidden-wealth families: {hw['flagged']} of {hw['families']} flagged "
              f"(recall {hw['recall']}); flagged families truly not poor: "
              f"{ev['flagged']['precision_nonpoor']} (exclude: {ev['excluded']['precision_nonpoor']})")
    return 0


def cmd_evaluate_linkage(args: argparse.Namespace) -> int:
    from dtsen.resolve.evaluate import evaluate, log_to_mlflow

    conf = load_config(args.env)
    figures = evaluate(_spark(conf, "evaluate-linkage"), conf, args.cycle)
    figures["mlflow_run_id"] = log_to_mlflow(conf, figures, args.cycle)
    if args.json:
        print(json.dumps(figures, indent=2, default=str))
        return 0
    d, a = figures["registry_dedup"], figures["agency_linkage"]
    print(f"linkage {args.cycle}: registry dedup precision {d['precision']:.4f} recall {d['recall']:.4f} "
          f"F1 {d['f1']:.4f} (clusters exact {d['cluster_exact_share']:.4f}); agencies precision "
          f"{a['precision']:.4f} recall {a['recall']:.4f} F1 {a['f1']:.4f}")
    for src, m in figures["agency_linkage_by_source"].items():
        print(f"  {src:22s} P {m['precision']:.4f} R {m['recall']:.4f} F1 {m['f1']:.4f} ({m['records']:,} records)")
    for kind, m in figures["agency_recall_by_kind"].items():
        print(f"  recall[{kind}] {m['recall']:.4f} ({m['records']:,})")
    print(f"MLflow run {figures['mlflow_run_id']}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from dtsen.score.train import train

    conf = load_config(args.env)
    s = train(_spark(conf, "train"), conf, seed=args.seed)
    if args.json:
        print(json.dumps(s, indent=2, default=str))
        return 0
    print(f"trained {s['registered_model']} on {s['labelled_families']:,} labelled families {s['split']} "
          f"(train id {s['train_id']}, seed {s['seed']}); challenger = version {s['challenger']} ({s['candidate']})")
    for kind, r in s["runs"].items():
        t = r["test"]
        print(f"  {kind:9s} v{r['version']}: test exclusion error 10/20/40% "
              f"{t.get('exclusion_error_10')}/{t.get('exclusion_error_20')}/{t.get('exclusion_error_40')}, "
              f"Spearman {t.get('spearman')}, AUC {t.get('auc_below_poverty_line')} (run {r['run_id']})")
    print(f"MLflow: {s['tracking_uri']}")
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    from dtsen.score.promote import promote

    conf = load_config(args.env)
    s = promote(_spark(conf, "promote"), conf)
    if args.json:
        print(json.dumps(s, indent=2, default=str))
    else:
        verdict = "promoted to champion" if s["promoted"] else "not promoted"
        before = f"v{s['champion_before']}" if s["champion_before"] else "none"
        print(f"{s['registered_model']} v{s['challenger']}: {verdict}; champion is v{s['champion']} "
              f"(was {before})")
        for r in s["reasons"]:
            print(f"  - {r}")
    return 0 if s["promoted"] or s["champion"] is not None else 4


def cmd_score(args: argparse.Namespace) -> int:
    from dtsen.score.job import score

    conf = load_config(args.env)
    s = score(_spark(conf, "score"), conf, cycle=args.cycle)
    if args.json:
        print(json.dumps(s, indent=2, default=str))
        return 0
    m = s["model"]
    shares = " ".join(f"{d}:{v:.3f}" for d, v in s["desil_person_share"].items())
    print(f"scored {s['cycle']} with {m['name']} v{m['version']} ({m['kind']}): {s['families']:,} families, "
          f"{s['persons']:,} persons; person share per desil {shares}; "
          f"{s['families_without_reasons']:,} families without a reason ({s['wall_seconds']} s)")
def _print_allocation(s: dict) -> None:
    print(f"allocated {s['cycle']} (programs {s['config_version']}): {s['families']:,} families; status: "
          + ", ".join(f"{k} {v:,}" for k, v in s["status"].items()))
    for p, c in s["programs"].items():
        print(f"  {p:<20} {c['recipients']:>9,} recipients  {c['waitlisted']:>9,} waitlisted  "
              f"{c['not_eligible']:>9,} not eligible  Rp {c['benefit_rp']:,}")


def cmd_allocate(args: argparse.Namespace) -> int:
    """`allocate` (gold tables) and `publish` (the same, then files, manifests and the cycle diff)."""
    from dtsen.allocate.job import ReconciliationError, allocate
    from dtsen.allocate.publish import publish

    conf = load_config(args.env)
    try:
        if args.command == "publish":
            s = publish(_spark(conf, args.command), conf, cycle=args.cycle, reuse_allocation=args.allocated)
        else:
            s = allocate(_spark(conf, args.command), conf, cycle=args.cycle)
    except ReconciliationError as exc:
        print(f"dtsen {args.command}: {exc}", file=sys.stderr)
        return 3
    if args.json:
        print(json.dumps(s, indent=2, default=str))
        return 0
    _print_allocation(s)
    if args.command == "publish":
        diff = "; ".join(f"{p} " + ", ".join(f"{k} {v:,}" for k, v in sorted(c.items()))
                         for p, c in s["diff"].items())
        print(f"published {s['files']} files with manifests -> {s['published']} (model {s['model_version']}, "
              f"code {s['code_version']}); since {s['previous_cycle'] or '-'}: {diff or '-'} "
              f"({s['publish_wall_seconds']} s)")
    return 0


def _range(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    try:
        return [int(lo), int(hi or lo)]
    except ValueError:
        raise ConfigError(f"--desil takes a range such as 1-3, got {text!r}") from None


def cmd_simulate(args: argparse.Namespace) -> int:
    from dtsen.allocate.simulate import simulate

    conf = load_config(args.env)
    change: dict = {}
    if args.desil:
        change["desil"] = _range(args.desil)
    if args.quota is not None:
        change["quota"] = {"families": args.quota}
    if args.budget is not None:
        change["quota"] = {"budget_rp": args.budget}
    if not change:
        raise ConfigError("simulate: give at least one of --desil, --quota, --budget for --program")
    s = simulate(_spark(conf, "simulate"), conf, cycle=args.cycle, changes={args.program: change})
    if args.json:
        print(json.dumps(s, indent=2, default=str))
        return 0
    print(f"simulate {s['cycle']} {args.program} {change} (labels: {s['labelled_families']:,} surveyed families, "
          f"poverty line Rp {s['poverty_line']:,.0f}); nothing published")
    for p in s["delta"]:
        b, n = s["baseline"][p], s["scenario"][p]
        print(f"  {p:<20} recipients {b['recipient_families']:>8,} -> {n['recipient_families']:>8,}  coverage "
              f"{b['coverage']} -> {n['coverage']}  leakage {b['leakage']} -> {n['leakage']}  undercoverage "
              f"{b['undercoverage']} -> {n['undercoverage']}")
    for prov, n in s["scenario"][args.program]["provinces"].items():
        b = s["baseline"][args.program]["provinces"].get(prov, {})
        print(f"    province {prov}: recipients {b.get('recipient_families', 0):,} -> {n['recipient_families']:,}, "
              f"undercoverage {b.get('undercoverage')} -> {n['undercoverage']}")
    return 0


def cmd_quality_gate(args: argparse.Namespace) -> int:
    from dtsen.quality_gate import GateFailed, quality_gate

    conf = load_config(args.env)
    try:
        s = quality_gate(_spark(conf, "quality-gate"), conf, cycle=args.cycle)
    except GateFailed as exc:
        print(f"dtsen quality-gate: {exc}", file=sys.stderr)
        return exc.exit_code
    if args.json:
        print(json.dumps(s, indent=2, default=str))
        return 0
    rules, worst = s["rules"], max(s["sources"], key=lambda f: f["quarantine_share"], default=None)
    highest = "no source delivered" if worst is None else (
        f"highest quarantine share {worst['source']} {worst['quarantine_share']:.2%} (limit "
        f"{rules['max_quarantine_share_by_source'].get(worst['source'], rules['max_quarantine_share']):.0%})")
    print(f"quality gate {s['cycle']} passed: {len(s['sources'])} sources, every file reconciles; {highest}; "
          f"decision in {s['report']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dtsen", description="Unified socio-economic registry pipeline")
    parser.add_argument("--env", default=None, help="conf overlay folder (default: $DTSEN_ENV or 'local')")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="write a synthetic population and its agency feeds for a cycle")
    g.add_argument("--residents", type=int, default=100_000)
    g.add_argument("--seed", type=int, default=42)
    g.add_argument("--cycle", required=True, help="e.g. 2026H1 (half-year) or 2026Q3 (quarter)")
    g.add_argument("--json", action="store_true", help="print the summary as JSON")
    g.set_defaults(func=cmd_generate)

    i = sub.add_parser("ingest", help="agency files -> bronze -> silver/quarantine, reconciled per file")
    i.add_argument("--cycle", required=True)
    i.add_argument("--source", default=None, help="one source only (default: all with a contract)")
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=cmd_ingest)

    r = sub.add_parser("resolve", help="dedupe the civil registry and link agency records to residents")
    r.add_argument("--cycle", required=True)
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=cmd_resolve)

    p = sub.add_parser("profile", help="family welfare profiles, inconsistency flags and the review queue")
    p.add_argument("--cycle", required=True)
    p.add_argument("--evaluate", action="store_true",
                   help="also score the flags against the synthetic ground truth (generated lakes only)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_profile)

    for name, what in (("allocate", "eligibility, quotas, recipients and waitlists, one status per family"),
                       ("publish", "allocate, then recipient files + manifests per program/regency, cycle diff")):
        a = sub.add_parser(name, help=what)
        a.add_argument("--cycle", required=True)
        a.add_argument("--json", action="store_true")
        if name == "publish":
            a.add_argument("--allocated", action="store_true",
                           help="publish the allocation `dtsen allocate` already wrote for the cycle instead of "
                                "allocating again (stops if it is missing or made with other programs)")
        a.set_defaults(func=cmd_allocate)

    sim = sub.add_parser("simulate", help="what-if for one program (decile range, quota, budget); writes nothing")
    sim.add_argument("--cycle", required=True)
    sim.add_argument("--program", required=True, help="a key of programs.catalog, e.g. PKH")
    sim.add_argument("--desil", default=None, help="decile range, e.g. 1-3")
    sim.add_argument("--quota", type=int, default=None, help="national quota in families")
    sim.add_argument("--budget", type=int, default=None, help="national budget in Rp (instead of a quota)")
    sim.add_argument("--json", action="store_true")
    sim.set_defaults(func=cmd_simulate)

    e = sub.add_parser("evaluate-linkage", help="linkage quality against the synthetic ground truth, to MLflow")
    e.add_argument("--cycle", required=True)
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=cmd_evaluate_linkage)

    t = sub.add_parser("train", help="train the OLS baseline and the LightGBM challenger on the survey labels (MLflow)")
    t.add_argument("--seed", type=int, default=None, help="default: score.seed in conf")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=cmd_train)

    pr = sub.add_parser("promote", help="gate the challenger; it becomes champion only if it is better and fair")
    pr.add_argument("--json", action="store_true")
    pr.set_defaults(func=cmd_promote)

    sc = sub.add_parser("score", help="the champion scores every family: welfare rank, desil, category, reasons")
    sc.add_argument("--cycle", required=True)
    sc.add_argument("--json", action="store_true")
    sc.set_defaults(func=cmd_score)

    q = sub.add_parser("quality-gate", help="stop the cycle if ingest did not reconcile or a feed breaks a "
                       "data-quality limit (exit 3: reconciliation, 4: threshold)")
    q.add_argument("--cycle", required=True)
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_quality_gate)

    s = sub.add_parser("summary", help="what the lake holds for a cycle")
    s.add_argument("--cycle", required=True)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_summary)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except (ConfigError, EnvironmentProblem) as exc:
        print(f"dtsen: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
