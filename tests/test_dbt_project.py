"""The dbt project follows the dbt canon (the rules of dbt-project-evaluator and the
jaffle-shop layout; the package itself cannot be installed here: no dbt hub).

Checked without building anything: one `dbt compile` of the models into a temporary
target folder (never the shared dbt_project/target), against the in-memory `lint`
target of profiles.yml (never the warehouse). Each rule is a function returning its
violations, so `test_each_rule_catches_its_violation` can prove on a broken copy of
the manifest that no rule passes vacuously.
"""

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
LAYERS = ("staging", "intermediate", "marts")
# The canon's prefixes (dbt-project-evaluator's model naming rule): staging stg_,
# intermediate int_, marts fct_ or dim_.
MART_PREFIXES = ("fct_", "dim_")
PRIMARY_KEY_COMBINATION_TESTS = {"unique_combination"}


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> dict:
    target = tmp_path_factory.mktemp("dbt_target")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DBT_")}
    subprocess.run(
        [
            str(Path(sys.executable).with_name("dbt")),
            "compile",
            "--quiet",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target",
            "lint",
            "--target-path",
            str(target),
            "--log-path",
            str(target / "logs"),
            "--select",
            "resource_type:model",
        ],
        check=True,
        cwd=DBT_PROJECT_DIR,
        env=env,
    )
    return json.loads((target / "manifest.json").read_text())


# --- reading the manifest -------------------------------------------------------------


def models(m: dict) -> dict[str, dict]:
    return {k: n for k, n in m["nodes"].items() if n["resource_type"] == "model"}


def layer(node: dict) -> str:
    """The model's folder under models/ (fqn: project, folder, ..., name)."""
    return node["fqn"][1]


def parents(node: dict) -> list[str]:
    return node["depends_on"]["nodes"]


def source_parents(m: dict, node: dict) -> set[tuple[str, str]]:
    return {
        (m["sources"][p]["source_name"], m["sources"][p]["name"])
        for p in parents(node)
        if p.startswith("source.")
    }


def generic_tests(m: dict, model_id: str) -> list[dict]:
    return [
        n
        for n in m["nodes"].values()
        if n["resource_type"] == "test"
        and n.get("attached_node") == model_id
        and n.get("test_metadata")
    ]


# --- the rules: each returns its violations --------------------------------------------


def models_outside_the_layers(m: dict) -> list[str]:
    return [n["name"] for n in models(m).values() if layer(n) not in LAYERS]


def staging_models_reading_other_than_one_source(m: dict) -> list[str]:
    """A staging model reads one source table, and nothing else (no ref)."""
    bad = []
    for n in models(m).values():
        if layer(n) != "staging":
            continue
        refs = [p for p in parents(n) if not p.startswith("source.")]
        if refs or len(source_parents(m, n)) != 1:
            bad.append(f"{n['name']}: reads {parents(n)}")
    return bad


def sources_read_outside_staging(m: dict) -> list[str]:
    return [
        f"{n['name']} ({layer(n)}) reads {sorted(source_parents(m, n))}"
        for n in models(m).values()
        if layer(n) != "staging" and source_parents(m, n)
    ]


def sources_without_a_staging_model(m: dict) -> list[str]:
    read = {s for n in models(m).values() for s in source_parents(m, n)}
    return [
        f"{s['source_name']}.{s['name']}"
        for s in m["sources"].values()
        if (s["source_name"], s["name"]) not in read
    ]


def intermediate_models_reading_marts(m: dict) -> list[str]:
    nodes = m["nodes"]
    return [
        f"{n['name']} reads {p}"
        for n in models(m).values()
        if layer(n) == "intermediate"
        for p in parents(n)
        if p in nodes and nodes[p]["resource_type"] == "model" and layer(nodes[p]) == "marts"
    ]


def misnamed_models(m: dict) -> list[str]:
    """stg_<source>__<table> in models/staging/<source>/, int_ in intermediate, fct_ or
    dim_ in marts."""
    bad = []
    for n in models(m).values():
        name, folder = n["name"], layer(n)
        if folder == "staging":
            sources = source_parents(m, n)
            source = next(iter(sources))[0] if len(sources) == 1 else None
            subfolder = n["fqn"][2] if len(n["fqn"]) > 3 else None
            if source is None or not name.startswith(f"stg_{source}__") or subfolder != source:
                want = "models/staging/<source>/stg_<source>__<table>.sql"
                bad.append(f"{n['original_file_path']}: want {want}")
        elif folder == "intermediate" and not name.startswith("int_"):
            bad.append(f"{name}: an intermediate model is named int_...")
        elif folder == "marts" and not name.startswith(MART_PREFIXES):
            bad.append(f"{name}: a mart is named {' or '.join(MART_PREFIXES)}...")
    return bad


def staging_yaml_out_of_place(m: dict) -> list[str]:
    """Per source a folder models/staging/<source>/ holding its one sources file
    _<source>__sources.yml (one source per file) and its models file
    _<source>__models.yml."""
    bad = []
    files: dict[str, set[str]] = {}
    for s in m["sources"].values():
        files.setdefault(s["original_file_path"], set()).add(s["source_name"])
    declared_in: dict[str, set[str]] = {}
    for path, names in files.items():
        if len(names) != 1:
            bad.append(f"{path} declares several sources: {sorted(names)}")
        for name in names:
            declared_in.setdefault(name, set()).add(path)
    for name, paths in declared_in.items():
        want = f"models/staging/{name}/_{name}__sources.yml"
        if paths != {want}:
            bad.append(f"source {name} is declared in {sorted(paths)}, want {want}")
    for n in models(m).values():
        if layer(n) == "staging" and len(n["fqn"]) > 3:
            source = n["fqn"][2]
            want = f"segments://models/staging/{source}/_{source}__models.yml"
            if n.get("patch_path") != want:
                bad.append(f"{n['name']} is documented in {n.get('patch_path')}, want {want}")
    return bad


def models_without_a_primary_key_test(m: dict) -> list[str]:
    """unique and not_null on one column, or a unique_combination test of the model."""
    bad = []
    for model_id, n in models(m).items():
        per_column: dict[str, set[str]] = {}
        combination = False
        for t in generic_tests(m, model_id):
            name = t["test_metadata"]["name"]
            if name in PRIMARY_KEY_COMBINATION_TESTS:
                combination = True
            elif t.get("column_name"):
                per_column.setdefault(t["column_name"], set()).add(name)
        if not combination and not any({"unique", "not_null"} <= s for s in per_column.values()):
            bad.append(n["name"])
    return bad


def undocumented(m: dict) -> list[str]:
    """Every model, every column declared of it, every source and source table has a
    description; every model declares columns."""
    bad = []
    for n in models(m).values():
        if not n["description"].strip():
            bad.append(f"model {n['name']}")
        if not n["columns"]:
            bad.append(f"model {n['name']} declares no column")
        bad += [
            f"column {n['name']}.{c}"
            for c, col in n["columns"].items()
            if not col["description"].strip()
        ]
    for s in m["sources"].values():
        if not s["description"].strip():
            bad.append(f"source table {s['source_name']}.{s['name']}")
        if not s["source_description"].strip():
            bad.append(f"source {s['source_name']}")
    return bad


def sources_off_their_dagster_assets(m: dict) -> list[str]:
    """Each source table maps onto the asset that writes it: [raw, <table>] for the
    exports, [history, <table>] for the pipeline's own history."""
    bad = []
    for s in m["sources"].values():
        want = ["history" if s["source_name"] == "history" else "raw", s["name"]]
        got = (s.get("meta") or {}).get("dagster", {}).get("asset_key")
        if got != want:
            bad.append(f"{s['source_name']}.{s['name']}: asset_key {got}, want {want}")
    return bad


def invoice_lines_without_freshness(m: dict) -> list[str]:
    for s in m["sources"].values():
        if (s["source_name"], s["name"]) == ("billing", "invoice_lines"):
            fresh = s.get("freshness") or {}
            if s.get("loaded_at_field") and (fresh.get("warn_after") or {}).get("count"):
                if (fresh.get("error_after") or {}).get("count"):
                    return []
            return ["billing.invoice_lines: no loaded_at_field with warn/error thresholds"]
    return ["billing.invoice_lines is not a source"]


# An amount multiplied or divided by a rate outside the macro to_reporting.
HAND_CONVERSION = re.compile(
    r"[*/]\s*[\w.]*\b(rate_to_reporting|units_per_reporting|fx_rate|fx_units_per_reporting)\b"
    r"|\b(rate_to_reporting|units_per_reporting|fx_rate|fx_units_per_reporting)\s*[*/]"
)


def hand_written_conversions(m: dict) -> list[str]:
    return [n["name"] for n in models(m).values() if HAND_CONVERSION.search(n["raw_code"])]


# Staging renames, casts and cleans: no join, aggregation or window, and no rule that
# depends on the run's configuration (a var: the reporting currency, thresholds).
STAGING_LOGIC = re.compile(r"\bjoin\b|\bgroup\s+by\b|\bover\s*\(|\bvar\s*\(", re.IGNORECASE)


def business_logic_in_staging(m: dict) -> list[str]:
    return [
        f"{n['name']}: {STAGING_LOGIC.search(n['raw_code']).group(0)}"
        for n in models(m).values()
        if layer(n) == "staging" and STAGING_LOGIC.search(n["raw_code"])
    ]


RULES = [
    models_outside_the_layers,
    staging_models_reading_other_than_one_source,
    sources_read_outside_staging,
    sources_without_a_staging_model,
    intermediate_models_reading_marts,
    misnamed_models,
    staging_yaml_out_of_place,
    models_without_a_primary_key_test,
    undocumented,
    sources_off_their_dagster_assets,
    invoice_lines_without_freshness,
    hand_written_conversions,
    business_logic_in_staging,
]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.__name__)
def test_the_project_keeps_the_rule(manifest, rule):
    assert rule(manifest) == []


# --- every column of every model is declared (and so documented) -----------------------

CONTRACT_TYPES = {
    "varchar": "varchar",
    "integer": "bigint",
    "decimal": "decimal(18, 2)",
    "rate": "decimal(38, 18)",
    "double": "double",
    "date": "date",
    "timestamp": "timestamp",
    "boolean": "boolean",
}


def built_columns(m: dict) -> dict[str, list[str]]:
    """The columns each model really returns: its compiled SQL created as a view in an
    in-memory DuckDB over empty stand-ins of the sources (the raw exports typed as the
    export contract says, with the loader's _source_file/_source_line; other sources, the
    pipeline's own tables, as their yml declares them)."""
    contract = yaml.safe_load((REPO_ROOT / "config" / "contract.yml").read_text())["sources"]
    con = duckdb.connect()
    for s in m["sources"].values():
        if s["schema"] == "raw" and s["name"] in contract:
            spec = contract[s["name"]]["columns"]
            cols = [f'"{c}" {CONTRACT_TYPES[v["type"]]}' for c, v in spec.items()]
            cols += ["_source_file varchar", "_source_line bigint"]
        else:
            cols = [f'"{c}" {v["data_type"]}' for c, v in s["columns"].items()]
        con.execute(f'create schema if not exists "{s["schema"]}"')
        con.execute(f'create table "{s["schema"]}"."{s["identifier"]}" ({", ".join(cols)})')
    todo = dict(models(m))
    while todo:
        ready = [k for k, n in todo.items() if not any(p in todo for p in parents(n))]
        assert ready, f"a cycle among {sorted(todo)}"
        for k in ready:
            n = todo.pop(k)
            con.execute(f'create schema if not exists "{n["schema"]}"')
            con.execute(f'create view "{n["schema"]}"."{n["alias"]}" as {n["compiled_code"]}')
    return {
        n["name"]: [
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [n["schema"], n["alias"]],
            ).fetchall()
        ]
        for n in models(m).values()
    }


def test_every_column_a_model_returns_is_declared_in_its_schema_file(manifest):
    built = built_columns(manifest)
    mismatched = {
        n["name"]: {
            "undeclared": sorted(set(built[n["name"]]) - set(n["columns"])),
            "not returned": sorted(set(n["columns"]) - set(built[n["name"]])),
        }
        for n in models(manifest).values()
        if set(built[n["name"]]) != set(n["columns"])
    }
    assert mismatched == {}


# --- no rule passes vacuously -------------------------------------------------------------


def _model(m: dict, name: str) -> dict:
    return next(n for n in models(m).values() if n["name"] == name)


def _source_id(m: dict, source: str, table: str) -> str:
    return next(
        k for k, s in m["sources"].items() if (s["source_name"], s["name"]) == (source, table)
    )


def _break_staging_read(m):
    _model(m, "stg_crm__accounts")["depends_on"]["nodes"].append(
        _model(m, "stg_crm__contacts")["unique_id"]
    )


def _break_source_outside_staging(m):
    _model(m, "fct_client_retention_signals")["depends_on"]["nodes"].append(
        _source_id(m, "history", "crm_accounts")
    )


def _break_unread_source(m):
    for n in models(m).values():
        n["depends_on"]["nodes"] = [
            p for p in parents(n) if p != _source_id(m, "billing", "products")
        ]


def _break_intermediate_reading_a_mart(m):
    _model(m, "int_client_revenue_windows")["depends_on"]["nodes"].append(
        _model(m, "fct_invoice_lines")["unique_id"]
    )


def _break_name(m):
    _model(m, "fct_portfolio_concentration")["name"] = "portfolio_concentration"


def _break_folder(m):
    n = _model(m, "stg_billing__products")
    n["fqn"] = ["segments", "staging", "stg_billing__products"]
    n["original_file_path"] = "models/staging/stg_billing__products.sql"


def _break_sources_file(m):
    m["sources"][_source_id(m, "crm", "feedback")]["original_file_path"] = (
        "models/staging/billing/_billing__sources.yml"
    )


def _break_primary_key(m):
    model_id = _model(m, "stg_crm__feedback")["unique_id"]
    for t in generic_tests(m, model_id):
        if t["test_metadata"]["name"] == "not_null" and t["column_name"] == "feedback_id":
            t["attached_node"] = None


def _break_description(m):
    _model(m, "dim_clients")["columns"]["overdue_amount"]["description"] = " "


def _break_asset_key(m):
    m["sources"][_source_id(m, "history", "crm_accounts")]["meta"] = {}


def _break_freshness(m):
    m["sources"][_source_id(m, "billing", "invoice_lines")]["freshness"] = None


def _break_conversion(m):
    _model(m, "fct_lead_inputs")["raw_code"] += "\n-- leads.budget * latest_rates.rate_to_reporting"


def _break_staging_logic(m):
    _model(m, "stg_crm__deals")["raw_code"] += "\n-- '{{ var(\"reporting_currency\") }}'"


def _break_layer(m):
    _model(m, "dim_clients")["fqn"][1] = "reports"


BREAKS = {
    models_outside_the_layers: _break_layer,
    staging_models_reading_other_than_one_source: _break_staging_read,
    sources_read_outside_staging: _break_source_outside_staging,
    sources_without_a_staging_model: _break_unread_source,
    intermediate_models_reading_marts: _break_intermediate_reading_a_mart,
    misnamed_models: _break_name,
    staging_yaml_out_of_place: _break_sources_file,
    models_without_a_primary_key_test: _break_primary_key,
    undocumented: _break_description,
    sources_off_their_dagster_assets: _break_asset_key,
    invoice_lines_without_freshness: _break_freshness,
    hand_written_conversions: _break_conversion,
    business_logic_in_staging: _break_staging_logic,
}


def test_every_rule_has_a_break():
    assert set(BREAKS) == set(RULES)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.__name__)
def test_each_rule_catches_its_violation(manifest, rule):
    broken = copy.deepcopy(manifest)
    BREAKS[rule](broken)
    assert rule(broken) != []


def test_a_misplaced_staging_model_is_caught_by_its_name_rule(manifest):
    broken = copy.deepcopy(manifest)
    _break_folder(broken)
    assert misnamed_models(broken) != []
