"""`segments` command: run the nightly job headless, open the UI, make sample exports.

segments run [--as-of 2026-10-31] [--clients 5000]
segments ui
segments generate --out DIR [--clients N]
segments summary
segments check [--json] [--exports DIR]
"""

import argparse
import datetime as dt
import logging
import os
import shutil
import sys
from pathlib import Path

from assets.vocabulary import SEGMENTS, Export, Readiness, RiskLevel
from pipelines.db import fetch_one
from pipelines.settings import REPO_ROOT, EnvSettings, SettingsError, from_env

log = logging.getLogger("segments")


def dagster_home(env: EnvSettings) -> Path:
    """A persistent Dagster instance under the data folder, so headless runs show in the
    UI; its dagster.yaml queues warehouse-writing runs one at a time."""
    home = Path(os.environ.get("DAGSTER_HOME") or env.data_dir / "dagster_home")
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def ensure_exports(env: EnvSettings, clients: int) -> Path:
    if env.exports_dir:
        if not env.exports_dir.is_dir():
            raise SystemExit(f"SEGMENTS_EXPORTS_DIR={env.exports_dir} is not a folder")
        return env.exports_dir
    target = env.sample_exports_dir
    if not (target / "invoice_lines.csv").exists():
        from sample_data.generate import SampleSpec, generate

        log.info(
            "SEGMENTS_EXPORTS_DIR not set: generating %d sample clients in %s", clients, target
        )
        generate(target, SampleSpec(clients=clients))
    else:
        log.info("using sample exports in %s (delete the folder to regenerate)", target)
    return target


def run(args: argparse.Namespace) -> int:
    env = from_env()
    ensure_exports(env, args.clients)
    dagster_home(env)
    from dagster import DagsterInstance

    from pipelines.definitions import nightly_job
    from pipelines.ingest.contract import ProfileError
    from pipelines.orchestration import run_config_for

    try:
        job = nightly_job(env)
    except ProfileError as exc:
        log.error("%s", exc)
        return 2
    as_of = args.as_of or env.as_of
    log.info(
        "running %s (as_of %s), warehouse %s",
        job.name,
        as_of or "latest invoice date",
        env.warehouse_path,
    )
    with DagsterInstance.get() as instance:
        result = job.execute_in_process(
            run_config=run_config_for(dt.date.fromisoformat(as_of) if as_of else None),
            instance=instance,
            raise_on_error=False,
        )
    if not result.success:
        log.error(
            "run %s failed; nothing new was published. Details: `make ui`, Runs.", result.run_id
        )
        for event in result.all_events:
            if event.is_failure and event.event_specific_data is not None:
                error = getattr(event.event_specific_data, "error", None)
                log.error("%s: %s", event.step_key, error.message.strip() if error else "")
        for evaluation in result.get_asset_check_evaluations():
            if not evaluation.passed:
                log.error(
                    "check %s failed: %s", evaluation.check_name, evaluation.description or ""
                )
        return 1
    print_summary(env)
    return 0


def print_summary(env: EnvSettings) -> None:
    import duckdb

    path = env.published_path
    with duckdb.connect(str(path), read_only=True) as con:
        as_of, run_id, config_version = fetch_one(
            con, "select as_of, run_id, config_version from release"
        )
        rows = con.execute(
            "select segment, count(*), sum(revenue_t12m)::double from client_segments "
            "group by segment"
        ).fetchall()
        segments = sorted(rows, key=lambda r: SEGMENTS.index(r[0]))
        loads = con.execute(
            "select source, rows_read, rows_loaded, rows_rejected from load_report order by source"
        ).fetchall()
        absent = [
            r[0]
            for r in con.execute(
                "select source from load_report where file_name is null order by source"
            ).fetchall()
        ]
        signals = [
            r[0]
            for r in con.execute("select signal from segment_mix where signal <> ''").fetchall()
        ]
        risk = fetch_one(
            con,
            """select count(*) filter (where risk_level = ?),
                      coalesce(sum(revenue_at_risk), 0)::double from client_segments""",
            [RiskLevel.HIGH.value],
        )
        flags = con.execute(
            "select flag, count(*) from retention_risks group by flag order by 2 desc, 1"
        ).fetchall()
        leads = fetch_one(
            con,
            """select count(*) filter (where bant_rank is not null),
                      count(*) filter (where excluded_reason is not null),
                      count(*) filter (where readiness = ? and bant_rank is not null)
               from lead_rankings""",
            [Readiness.HOT.value],
        )
        tables = {r[0] for r in con.execute("show tables").fetchall()}
        # A release published before cross-sell and the funnel existed has neither.
        white_space = (
            con.execute(
                """select product_family, count(*) from cross_sell
                   group by product_family order by 2 desc, 1 limit 3"""
            ).fetchall()
            if "cross_sell" in tables
            else None
        )
        funnel = (
            con.execute(
                """select group_value, deals_closed, win_rate, median_cycle_days
                   from sales_funnel where dimension = 'sub_segment'
                   and group_value in ('lower', 'upper') order by group_value"""
            ).fetchall()
            if "sales_funnel" in tables
            else None
        )
    print(f"\nPublished {path}\n  as_of {as_of}, run {run_id}, rules {config_version}\n")
    print(f"  {'segment':<10}{'clients':>10}{'revenue_t12m':>22}")
    for name, clients, revenue in segments:
        print(f"  {name:<10}{clients:>10,}{revenue:>22,.2f}")
    rejected = sum(r[3] for r in loads)
    print(
        f"\n  rows rejected: {rejected:,} of {sum(r[1] for r in loads):,} read "
        "(details in the warehouse table raw.rejects)"
    )
    for source, read, _loaded, rej in loads:
        if rej:
            print(f"    {source}: {rej:,} rejected of {read:,}")
    if absent:
        print(f"  absent tonight (loaded as empty tables): {', '.join(absent)}")
    for signal in signals:
        print(f"  mix signal: {signal}")
    print(
        f"\n  retention risk: {risk[0]:,} clients at high risk, revenue at risk "
        f"{risk[1]:,.2f}; flags: " + (", ".join(f"{f} {n:,}" for f, n in flags) or "none")
    )
    if Export.LEADS in absent:
        print("  leads: none ranked (no leads export tonight)")
    else:
        print(
            f"  leads: {leads[0]:,} ranked ({leads[2]:,} hot), "
            f"{leads[1]:,} outside the target profile"
        )
    if white_space is not None:
        print(
            "  cross-sell: top white-space families by clients: "
            + (", ".join(f"{family} {n:,}" for family, n in white_space) or "none")
        )
    if funnel is not None:
        print(
            "  sales funnel (deals closed in the window): "
            + (
                "; ".join(
                    f"{group} sub-segment {closed:,} closed, win rate {rate:.0%}, "
                    + ("no cycle known" if cycle is None else f"median cycle {cycle:g} days")
                    for group, closed, rate, cycle in funnel
                )
                or "no deal closed"
            )
        )
    print(f"\n  open it read-only: duckdb -readonly {path}\n")


def ui(args: argparse.Namespace) -> int:
    env = from_env()
    ensure_exports(env, args.clients)
    dagster_home(env)
    dagster = Path(sys.executable).with_name("dagster")
    command = [
        str(dagster),
        "dev",
        "-h",
        "127.0.0.1",
        "-p",
        str(args.port),
        "-w",
        str(REPO_ROOT / "workspace.yaml"),
    ]
    log.info("Dagster UI on http://127.0.0.1:%d (Ctrl-C to stop)", args.port)
    os.chdir(REPO_ROOT)
    os.execv(command[0], command)


def releases(args: argparse.Namespace) -> int:
    from pipelines.publish.releases import list_releases, release_identity

    env = from_env()
    publish_dir, current = env.publish_dir, env.published_path
    published = release_identity(current) if current.exists() else None
    kept = list_releases(publish_dir)
    if not kept:
        print(f"no kept releases in {publish_dir / 'releases'}")
        return 0
    for path in kept:
        marker = "*" if release_identity(path) == published else " "
        print(f"{marker} {path.name}")
    print("(* = published now)")
    return 0


def rollback(args: argparse.Namespace) -> int:
    from pipelines.publish.releases import release_identity
    from pipelines.publish.releases import rollback as swap_in

    env = from_env()
    try:
        chosen = swap_in(env.publish_dir, args.to)
    except ValueError as exc:
        log.error("rollback refused: %s", exc)
        return 2
    as_of, run_id = release_identity(env.published_path)
    log.info("rolled back to %s: BI now reads as_of %s, run %s", chosen.name, as_of, run_id)
    return 0


def export(args: argparse.Namespace) -> int:
    from pipelines.publish.export import export_csv

    published = from_env().published_path
    out = Path(args.out or f"{args.table}.csv")
    try:
        rows = export_csv(published, args.table, out)
    except ValueError as exc:
        log.error("export refused: %s", exc)
        return 2
    log.info("wrote %s rows of %s to %s", f"{rows:,}", args.table, out)
    return 0


def check(args: argparse.Namespace) -> int:
    """Load the landing folder into a scratch database and say what would load."""
    from pipelines.ingest.contract import ProfileError, deployment_contract
    from pipelines.ingest.preflight import as_json, as_text, check_landing
    from pipelines.resources import PipelineSettings

    env = from_env()
    exports = Path(args.exports).expanduser().resolve() if args.exports else env.exports_dir
    if exports is None or not exports.is_dir():
        log.error("no landing folder: set SEGMENTS_EXPORTS_DIR or pass --exports DIR")
        return 2
    settings = PipelineSettings.from_env(env)
    try:
        contract = deployment_contract(settings.contract_path, settings.profile_paths)
        rules = settings.rules()
    except (ProfileError, ValueError) as exc:
        log.error("%s", exc)
        return 2
    try:
        as_of = dt.date.fromisoformat(env.as_of) if env.as_of else None
    except ValueError:
        log.error("SEGMENTS_AS_OF=%s is not a date in format YYYY-MM-DD", env.as_of)
        return 2
    checks = check_landing(
        exports,
        contract,
        rules.revenue.export_is_required,
        rules.revenue.reporting_currency,
        as_of,
    )
    profiles = [p.stem for p in env.profile_paths]
    print(as_json(checks) if args.json else as_text(checks, exports, profiles))
    return 0 if all(c.ok for c in checks) else 1


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    parser = argparse.ArgumentParser(prog="segments", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run", help="run the nightly job once, in process")
    run_parser.add_argument(
        "--as-of",
        help="the night to compute, YYYY-MM-DD "
        "(default: SEGMENTS_AS_OF, else the latest invoice date)",
    )
    run_parser.add_argument(
        "--clients", type=int, default=5000, help="sample size when sample exports are generated"
    )
    run_parser.set_defaults(func=run)
    ui_parser = sub.add_parser("ui", help="start the Dagster UI on 127.0.0.1")
    ui_parser.add_argument("--port", type=int, default=3000)
    ui_parser.add_argument("--clients", type=int, default=5000)
    ui_parser.set_defaults(func=ui)
    sub.add_parser("summary", help="print what is published").set_defaults(
        func=lambda _: print_summary(from_env()) or 0
    )
    sub.add_parser("releases", help="list the kept releases, newest first").set_defaults(
        func=releases
    )
    back = sub.add_parser(
        "rollback", help="publish a kept release again (default: the one before the current)"
    )
    back.add_argument("--to", help="a kept release's file name or run id")
    back.set_defaults(func=rollback)
    csv_parser = sub.add_parser(
        "export", help="a published table as CSV for spreadsheets (formulas neutralised)"
    )
    csv_parser.add_argument("table")
    csv_parser.add_argument("--out", help="the CSV file (default: <table>.csv)")
    csv_parser.set_defaults(func=export)
    check_parser = sub.add_parser(
        "check",
        help="pre-flight: load the landing folder into a scratch database and report per "
        "source what would load (exit 0 when the set would load)",
    )
    check_parser.add_argument("--json", action="store_true", help="one JSON object")
    check_parser.add_argument("--exports", help="the landing folder (default SEGMENTS_EXPORTS_DIR)")
    check_parser.set_defaults(func=check)
    gen = sub.add_parser("generate", help="write sample exports (python -m sample_data.generate)")
    gen.set_defaults(func=lambda a: __import__("sample_data.generate").generate.main(a.rest) or 0)
    gen.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except SettingsError as exc:
        log.error("%s", exc)
        return 2


if __name__ == "__main__":
    sys.exit(main())
