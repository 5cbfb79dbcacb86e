"""Benchmark: the full nightly run against a plain DuckDB baseline on the same files.

    python -m benchmarks.run_benchmark --clients 100000 [--repeat 3] [--incremental]

Generates N sample clients (cached per N), then, each in its own process so peak RSS
(of the whole process tree, sampled) is measured per run: (1) the baseline, one DuckDB
SQL script that reads the same CSV files and writes the same per-client revenue mart
(t12m, prev, growth, first/last invoice, active months, products, overdue, rank, ABC)
to Parquet; (2) `segments run`, the whole job (ingest with rejects, dbt build with its
tests, segments, GX gate, publication) into an empty data folder, keeping only the dbt
column metadata of the first night (a deployment computes it once per dbt project).
With --incremental, the full night is given the exports without the last day of invoice
lines (0.1% of them), and is followed by the next night of the same deployment, given a
delta of invoice_lines that holds only that day's lines (the contract merges invoice
lines by key). Both get the same DuckDB memory limit (--memory-limit).
Prints medians and per-step times as Markdown.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.marts.column_metadata import CACHE_FILE
from pipelines.marts.dbt import nightly_target
from pipelines.settings import DEFAULT_MEMORY_LIMIT

REPO = Path(__file__).resolve().parents[1]

BASELINE_SQL = """
create table lines as select * from read_csv('{exports}/invoice_lines.csv', header=true,
    auto_detect=false, ignore_errors=true, columns={{
    'invoice_id': 'VARCHAR', 'line_no': 'BIGINT', 'account_id': 'VARCHAR',
    'invoice_date': 'DATE', 'amount': 'DECIMAL(18,2)', 'currency': 'VARCHAR',
    'product_code': 'VARCHAR', 'status': 'VARCHAR', 'due_date': 'DATE', 'paid_date': 'DATE'}});
create table fx as select * from read_csv('{exports}/fx_rates.csv', header=true,
    auto_detect=false, columns={{'rate_date': 'DATE', 'currency': 'VARCHAR',
    'rate_to_reporting': 'DECIMAL(18,6)'}});
copy (
  with conv as (
    select l.*, round(l.amount * case when l.currency = 'RUB' then 1
                else f.rate_to_reporting end, 2) as amt
    from lines l asof left join fx f
      on l.currency = f.currency and l.invoice_date >= f.rate_date
    where l.status <> 'cancelled' and l.invoice_date <= date '{as_of}'),
  b as (select date '{as_of}' as as_of),
  monthly as (select account_id, date_trunc('month', invoice_date) m, sum(amt) r
              from conv group by all),
  act as (select account_id, count(*) filter (where r > 0) active_months_24m from monthly, b
          where m >= date_trunc('month', as_of) - interval 23 month group by all),
  per as (
    select account_id,
      coalesce(sum(amt) filter (where invoice_date > as_of - interval 12 month), 0) t12,
      coalesce(sum(amt) filter (where invoice_date > as_of - interval 24 month
                                and invoice_date <= as_of - interval 12 month), 0) prev,
      min(invoice_date) first_invoice_date, max(invoice_date) last_invoice_date,
      count(distinct product_code) filter (where invoice_date > as_of - interval 12 month) p,
      sum(amt) filter (where due_date < as_of and (paid_date is null or paid_date > as_of)) od,
      bool_or(invoice_date > as_of - interval 24 month) in_base
    from conv, b group by all),
  ranked as (
    select per.*, act.active_months_24m,
      case when prev > 0 then t12 / prev - 1 end growth,
      row_number() over (order by t12 desc, account_id) rnk,
      sum(t12) over (order by t12 desc, account_id rows between unbounded preceding
                     and 1 preceding) before_amt,
      sum(t12) over () total
    from per left join act using (account_id) where in_base)
  select *, case when t12 <= 0 then 'C' when coalesce(before_amt, 0) < 0.8 * total then 'A'
                 when coalesce(before_amt, 0) < 0.95 * total then 'B' else 'C' end abc
  from ranked
) to '{out}' (format parquet);
"""

# Dagster writes 850ms, 12.3s or, past a minute, 7m58s.
STEP_LINE = re.compile(r'Finished execution of step "([^"]+)" in (?:(\d+)m)?([0-9.]+)(ms|s)')


def timed(command: list[str], env: dict, log: Path) -> tuple[float, str]:
    start = time.perf_counter()
    with log.open("w") as handle:
        subprocess.run(command, env=env, stdout=handle, stderr=subprocess.STDOUT, check=True)
    return time.perf_counter() - start, log.read_text()


STEP_START = re.compile(r'Started execution of step "([^"]+)"')


def _process_name(pid: int) -> str:
    """`dbt build`, `segments run`: the program (not the Python running its script)
    and its first argument."""
    try:
        argv = (Path("/proc") / str(pid) / "cmdline").read_bytes().decode().split("\0")
    except OSError:
        return "?"
    if Path(argv[0]).name.startswith("python") and argv[1:] and argv[1][:1] not in "-":
        argv = argv[1:]
    return " ".join([Path(argv[0]).name, *argv[1:2]])


def _tree_rss(root: int) -> dict[int, int]:
    """Resident bytes of `root` and of each of its descendants, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            resident = int((entry / "statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
        rss[int(entry.name)] = resident * page
    tree, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid in rss:
            tree[pid] = rss[pid]
        todo += children.get(pid, [])
    return tree


@dataclass
class Peak:
    """The process tree's largest sampled RSS, and what held it: each process's share
    and the Dagster step that had started last."""

    megabytes: float = 0.0
    processes: str = ""
    step: str | None = None

    def describe(self) -> str:
        during = f" during {self.step}" if self.step else ""
        return f"{self.megabytes:,.0f} MB{during} ({self.processes})"


def run_isolated(command: list[str], env: dict, log: Path) -> tuple[float, Peak, str]:
    """Run `command` and report its wall time and the peak RSS of its whole process tree
    (sampled every 0.2 s: Dagster, dbt and DuckDB together)."""
    start = time.perf_counter()
    peak, peak_log_size = Peak(), 0
    with log.open("w") as handle:
        process = subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT)
        while process.poll() is None:
            tree = _tree_rss(process.pid)
            total = sum(tree.values()) / 2**20
            if total > peak.megabytes:
                shares = sorted(tree.items(), key=lambda kv: -kv[1])[:4]
                peak = Peak(
                    total,
                    ", ".join(f"{_process_name(pid)} {rss / 2**20:,.0f} MB" for pid, rss in shares),
                )
                peak_log_size = log.stat().st_size
            time.sleep(0.2)
    seconds = time.perf_counter() - start
    if process.returncode:
        raise SystemExit(f"{command[0]} failed ({process.returncode}): see {log}")
    output = log.read_text()
    started = STEP_START.findall(output.encode()[:peak_log_size].decode(errors="ignore"))
    if STEP_START.search(output):
        peak.step = started[-1] if started else "start-up"
    return seconds, peak, output


SPLIT_LAST_DAY_SQL = """
create temp table lines as
select *, try_cast(invoice_date as date) as _day
from read_csv('{exports}/invoice_lines.csv', header=true, auto_detect=false,
              all_varchar=true, ignore_errors=true, columns={{
    'invoice_id': 'VARCHAR', 'line_no': 'VARCHAR', 'account_id': 'VARCHAR',
    'invoice_date': 'VARCHAR', 'amount': 'VARCHAR', 'currency': 'VARCHAR',
    'product_code': 'VARCHAR', 'status': 'VARCHAR', 'due_date': 'VARCHAR',
    'paid_date': 'VARCHAR'}});
create temp table last as select max(_day) as day from lines;
copy (select * exclude (_day) from lines where _day is distinct from (select day from last))
  to '{before}/invoice_lines.csv' (header, delimiter ',');
copy (select * exclude (_day) from lines where _day = (select day from last))
  to '{delta}/invoice_lines.csv' (header, delimiter ',');
"""


def split_last_day(exports: Path, before: Path, delta: Path) -> int:
    """Two nights from one set of exports: `before`, every file as it is but
    invoice_lines without its last day (the full night), and `delta`, the same CRM and
    other billing files with an invoice_lines that holds only that last day's lines (the
    night after, a day later in the same month). Returns the delta's number of lines."""
    for out in (before, delta):
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        for export in exports.iterdir():
            if export.name != "invoice_lines.csv":
                # A hard link: the loader refuses a symlink that leads out of its folder.
                os.link(export, out / export.name)
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    con.execute(f"set temp_directory = '{before.parent / 'split_spill'}'")
    con.execute(SPLIT_LAST_DAY_SQL.format(exports=exports, before=before, delta=delta))
    return sum(1 for _ in (delta / "invoice_lines.csv").open("rb")) - 1


def _column_metadata_path(work: Path) -> Path:
    return nightly_target(str(work / "data" / "warehouse.duckdb")) / CACHE_FILE


def _fresh_deployment(work: Path, kept_columns: Path) -> None:
    """An empty data and publish folder, with the dbt column metadata of an earlier
    night when there was one."""
    subprocess.run(["rm", "-rf", str(work / "data"), str(work / "publish")], check=True)
    if kept_columns.exists():
        target = _column_metadata_path(work)
        target.parent.mkdir(parents=True)
        shutil.copy(kept_columns, target)


def _keep_column_metadata(work: Path, kept_columns: Path) -> None:
    if _column_metadata_path(work).exists():
        shutil.copy(_column_metadata_path(work), kept_columns)


def _add_steps(steps: dict[str, list[float]], output: str) -> None:
    """The time of each step Dagster logged in `output`, added to `steps`."""
    for step, minutes, value, unit in STEP_LINE.findall(output):
        seconds = float(value) / (1000 if unit == "ms" else 1) + 60 * int(minutes or 0)
        steps.setdefault(step, []).append(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--memory-limit",
        help="SEGMENTS_MEMORY_LIMIT of the job, and the baseline's DuckDB memory_limit "
        "(default: the job's default, 50%%, for both)",
    )
    parser.add_argument(
        "--incremental",
        action="store_true",
        help="full night without the last day of invoice lines, then the next night from a "
        "delta holding only that day's lines, timed too",
    )
    parser.add_argument(
        "--keep-column-metadata",
        action="store_true",
        help="start from the dbt column metadata an earlier benchmark run left in the work "
        "folder (used only while its fingerprint matches the project: the first full night "
        "then is that of a deployment that has run before, as the later ones are)",
    )
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "segments-benchmark"
    )
    args = parser.parse_args()
    work = args.workdir / f"{args.clients}"
    exports = work / "exports"
    work.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "SEGMENTS_EXPORTS_DIR": str(exports),
        "SEGMENTS_DATA_DIR": str(work / "data"),
        "SEGMENTS_PUBLISH_DIR": str(work / "publish"),
    }
    env.pop("SEGMENTS_AS_OF", None)
    memory_limit = args.memory_limit or DEFAULT_MEMORY_LIMIT
    env["SEGMENTS_MEMORY_LIMIT"] = memory_limit
    if not (exports / "invoice_lines.csv").exists():
        seconds, _ = timed(
            [
                sys.executable,
                "-m",
                "sample_data.generate",
                "--out",
                str(exports),
                "--clients",
                str(args.clients),
            ],
            env,
            work / "generate.log",
        )
        print(f"generated {args.clients} clients in {seconds:.1f} s")
    lines = sum(1 for _ in (exports / "invoice_lines.csv").open("rb")) - 1
    size_mb = (exports / "invoice_lines.csv").stat().st_size / 2**20
    as_of = "2026-10-31"

    baseline_sql = work / "baseline.sql"
    baseline_sql.write_text(
        f"set memory_limit = '{memory_limit}';\n"
        # An in-memory database spills to .tmp in the working directory by default.
        f"set temp_directory = '{work / 'baseline_spill'}';\n"
        + BASELINE_SQL.format(exports=exports, as_of=as_of, out=work / "baseline_mart.parquet")
    )
    # A full night of a deployment that has run before: warehouse, marts and release
    # rebuilt from the exports; the dbt column metadata, computed once per dbt project
    # (pipelines/marts/column_metadata.py), kept from the benchmark's first night.
    kept_columns = work / CACHE_FILE
    if not args.keep_column_metadata:
        kept_columns.unlink(missing_ok=True)
    results: dict[str, list[tuple[float, Peak]]] = {"baseline": [], "pipeline": []}
    delta_steps: dict[str, list[float]] = {}
    night_env = env
    if args.incremental:
        results["incremental"] = []
        before, delta_exports = work / "exports-before-last-day", work / "exports-last-day"
        delta_lines = split_last_day(exports, before, delta_exports)
        # The full night without the last day; the incremental night brings it.
        night_env = {**env, "SEGMENTS_EXPORTS_DIR": str(before)}
    steps: dict[str, list[float]] = {}
    for i in range(args.repeat):
        seconds, peak, _ = run_isolated(
            [
                sys.executable,
                "-c",
                "import duckdb, sys; duckdb.connect().execute(open(sys.argv[1]).read())",
                str(baseline_sql),
            ],
            env,
            work / f"baseline{i}.log",
        )
        results["baseline"].append((seconds, peak))
        columns_before = kept_columns.read_bytes() if kept_columns.exists() else None
        _fresh_deployment(work, kept_columns)
        seconds, peak, output = run_isolated(
            [str(Path(sys.executable).with_name("segments")), "run"],
            night_env,
            work / f"pipeline{i}.log",
        )
        results["pipeline"].append((seconds, peak))
        _keep_column_metadata(work, kept_columns)
        # The night rewrote the metadata when it had none for this project: it computed it.
        computes_columns = columns_before != (
            kept_columns.read_bytes() if kept_columns.exists() else None
        )
        _add_steps(steps, output)
        line = (
            f"repeat {i + 1}: baseline {results['baseline'][-1][0]:.1f} s, "
            f"pipeline {seconds:.1f} s"
            + (" (first night: dbt column metadata computed)" if computes_columns else "")
        )
        if args.incremental:
            seconds, peak, output = run_isolated(
                [str(Path(sys.executable).with_name("segments")), "run"],
                {**env, "SEGMENTS_EXPORTS_DIR": str(delta_exports)},
                work / f"incremental{i}.log",
            )
            results["incremental"].append((seconds, peak))
            _add_steps(delta_steps, output)
            line += f", incremental night {seconds:.1f} s"
        print(line, flush=True)

    def median(name: str, index: int) -> float:
        return statistics.median(r[1].megabytes if index else r[0] for r in results[name])

    base_s, pipe_s = median("baseline", 0), median("pipeline", 0)
    print(
        f"\n### {args.clients:,} clients, {lines:,} invoice lines ({size_mb:,.0f} MB CSV), "
        f"median of {args.repeat}, DuckDB memory_limit {memory_limit}\n"
    )
    print("| run | wall time | peak memory (process tree) |\n|---|---:|---:|")
    print(
        f"| plain DuckDB baseline (CSV -> per-client mart) | {base_s:.1f} s | "
        f"{median('baseline', 1):,.0f} MB |"
    )
    print(
        f"| full nightly job (`segments run`) | {pipe_s:.1f} s | {median('pipeline', 1):,.0f} MB |"
    )
    if args.incremental:
        print(
            f"| incremental night (`segments run`, {delta_lines:,} new lines) | "
            f"{median('incremental', 0):.1f} s | {median('incremental', 1):,.0f} MB |"
        )
    print(
        f"\nfull run / baseline = {pipe_s / base_s:.2f}x; "
        f"overhead over 2x baseline = {pipe_s - 2 * base_s:.1f} s"
    )
    if args.incremental:
        print(f"incremental night / full night = {median('incremental', 0) / pipe_s:.2f}")
    print("\nlargest peak of each kind of run, and the processes holding it:")
    for name, runs in results.items():
        print(f"- {name}: {max((peak for _, peak in runs), key=lambda p: p.megabytes).describe()}")
    print()
    if args.incremental:
        print("| step | full night | incremental night |\n|---|---:|---:|")
        for step, values in sorted(steps.items(), key=lambda kv: -statistics.median(kv[1])):
            delta = delta_steps.get(step)
            after = f"{statistics.median(delta):.2f} s" if delta else "-"
            print(f"| {step} | {statistics.median(values):.2f} s | {after} |")
    else:
        print("| step | median |\n|---|---:|")
        for step, values in sorted(steps.items(), key=lambda kv: -statistics.median(kv[1])):
            print(f"| {step} | {statistics.median(values):.2f} s |")


if __name__ == "__main__":
    main()
