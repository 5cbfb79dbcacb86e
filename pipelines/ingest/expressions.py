"""Profile expressions: SQL scalar expressions over an export's header columns.

A profile may compute a contract column (`expr: "try_cast(Probability as double) / 100"`)
or skip rows (`where: "IsDeleted = '1'"`). The expression is parsed by DuckDB itself
(json_serialize_sql) and accepted only if every node is a column, a constant, an
operator or a function from ALLOWED_FUNCTIONS: no subquery, no table function, no file
or environment access, so a profile cannot read anything but the row in front of it.
"""

from __future__ import annotations

import json
from functools import lru_cache

import duckdb

ALLOWED_FUNCTIONS = frozenset(
    {
        # operators as DuckDB names them
        "+", "-", "*", "/", "//", "%", "||", "~~", "!~~", "~~*", "!~~*",
        # text
        "lower", "upper", "trim", "ltrim", "rtrim", "replace", "regexp_replace",
        "regexp_extract", "regexp_matches", "regexp_full_match", "substr", "substring",
        "left", "right", "concat", "concat_ws", "split_part", "strpos", "length",
        "lpad", "rpad", "starts_with", "ends_with", "contains", "strip_accents",
        "prefix", "suffix",
        # nulls and choices
        "coalesce", "nullif", "ifnull", "greatest", "least",
        # numbers
        "round", "abs", "floor", "ceil", "ceiling",
        # dates
        "strptime", "try_strptime", "strftime", "date_trunc", "make_date",
    }
)  # fmt: skip

_ALLOWED_CLASSES = {
    "COLUMN_REF",
    "CONSTANT",
    "FUNCTION",
    "CASE",
    "COMPARISON",
    "CONJUNCTION",
    "OPERATOR",
    "CAST",
    "BETWEEN",
    "TYPE",
}


class ExpressionError(ValueError):
    """An expression a profile may not use, or that does not parse."""


def _walk(node, columns: set[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, columns)
        return
    if not isinstance(node, dict):
        return
    cls = node.get("class")
    if cls is not None:
        if cls not in _ALLOWED_CLASSES:
            raise ExpressionError(f"{cls.lower()} expressions are not allowed")
        if cls == "FUNCTION" and node["function_name"].lower() not in ALLOWED_FUNCTIONS:
            raise ExpressionError(
                f"function {node['function_name']}() is not allowed; allowed: "
                + ", ".join(sorted(f for f in ALLOWED_FUNCTIONS if f.isalpha() or "_" in f))
            )
        if cls == "COLUMN_REF":
            columns.add(node["column_names"][-1])
    for key, value in node.items():
        if key not in ("class", "type", "alias"):
            _walk(value, columns)


@lru_cache(maxsize=512)
def validate_expression(expression: str) -> frozenset[str]:
    """The header columns the expression reads; ExpressionError when it is not allowed."""
    with duckdb.connect() as con:
        (serialized,) = con.execute(
            "select json_serialize_sql(?)", [f"SELECT {expression}"]
        ).fetchall()[0]
    tree = json.loads(serialized)
    if tree.get("error"):
        raise ExpressionError(f"does not parse: {tree.get('error_message', '')}".strip())
    statements = tree["statements"]
    node = statements[0]["node"] if len(statements) == 1 else {}
    if (
        node.get("type") != "SELECT_NODE"
        or len(node.get("select_list", ())) != 1
        or node["from_table"]["type"] != "EMPTY"
        or node.get("where_clause")
        or node.get("group_expressions")
        or node.get("cte_map", {}).get("map")
        or node.get("modifiers")
    ):
        raise ExpressionError("expected one scalar expression (no FROM, WHERE or subquery)")
    columns: set[str] = set()
    _walk(node["select_list"][0], columns)
    return frozenset(columns)
