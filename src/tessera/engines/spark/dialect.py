"""Canonical (DuckDB) SQL to Spark SQL: sqlglot's translation plus Tessera's rewrites.

sqlglot translates most of what the stages write. Where its Spark output would run but
mean something else, the syntax tree is rewritten first:

- ``list(x ORDER BY k) [FILTER (WHERE c)]`` (sqlglot drops the ORDER BY, and Spark's
  ``collect_list`` has no order):
  ``transform(array_sort(collect_list(struct(k, x)), cmp), s -> s.x)``;
  ``list(DISTINCT x ORDER BY x)``: ``array_sort(collect_set(x))``. The sort compares
  key by key, descending where asked, NULLs last (DuckDB's default). With a ``FILTER``
  that keeps no row the result is NULL, as DuckDB's, not Spark's empty array.
- ``timezone(zone, t)`` (the wall-clock time in ``zone``):
  ``from_utc_timestamp(t, zone)``, read in the session zone (UTC).
- ``len(x)`` of a list made in the expression (``string_split``, ``list_*``):
  ``size(x)`` (NULL for NULL: see the engine's session settings); sqlglot writes
  ``length``, which is Spark's string length.
- ``isodow(t)``: ``weekday(t) + 1``; sqlglot's ``(dayofweek(t) % 7) + 1`` gives 2 on
  a Monday.
- ``epoch(t)`` (seconds, with the fraction): ``unix_micros(t) / 1e6``; sqlglot's
  ``unix_timestamp`` drops the fraction. ``to_timestamp(x)`` (seconds):
  ``timestamp_micros``; sqlglot's ``from_unixtime`` goes through text, to the second.

- ``a / b``: ``CAST(a AS DOUBLE) / b`` (DuckDB divides to DOUBLE, decimals too), and
  by zero infinity or NaN as DuckDB gives (Spark gives NULL).
- ``QUALIFY``: see :func:`without_qualify`.

Every other construct goes through sqlglot unchanged; :data:`REWRITES` names each
rewrite, and tests check them against DuckDB on the same rows.
"""

from __future__ import annotations

from typing import Any

from tessera.errors import UnsupportedOperation

REWRITES = (
    "ordered list aggregate",
    "timezone",
    "epoch",
    "to_timestamp",
    "list length",
    "isodow",
    "division",
    "qualify",
)


def to_spark(expression: Any) -> str:
    """Spark SQL for a parsed canonical statement or query (its QUALIFY clauses
    already removed by :func:`without_qualify`)."""
    return str(_post_order(expression.copy()).sql(dialect="spark"))


def _post_order(node: Any) -> Any:
    """Rewrite the children first, then the node (a rewrite sees rewritten operands)."""
    from sqlglot import exp

    if isinstance(node, exp.Filter) and _is_ordered_list(node.this):
        # rewritten as a whole: the aggregate's operands and the condition first
        _children(node.this.this)
        node.set("expression", _post_order(node.expression))
    else:
        _children(node)
    return _rewrite(node)


def _children(node: Any) -> None:
    from sqlglot import exp

    for key, value in list(node.args.items()):
        if isinstance(value, exp.Expression):
            node.set(key, _post_order(value))
        elif isinstance(value, list):
            node.set(key, [_post_order(v) if isinstance(v, exp.Expression) else v for v in value])


def without_qualify(expression: Any) -> Any:
    """``QUALIFY`` (which Spark lacks) as a filter over a subquery, by sqlglot; where
    the outer query selects ``*``, the window columns sqlglot adds (``_w``...) are
    excluded from it (``* EXCLUDE``), so that they do not leak into the result."""
    from sqlglot import exp, transforms

    if not any(True for _ in expression.find_all(exp.Qualify)):
        return expression
    tree = expression.copy().transform(transforms.eliminate_qualify)
    for select in tree.find_all(exp.Select):
        sub = select.args.get("from_")
        inner = sub.this if sub is not None else None
        if not (isinstance(inner, exp.Subquery) and inner.alias == "_t"):
            continue
        added = [
            e.alias
            for e in inner.this.expressions
            if isinstance(e, exp.Alias) and e.alias.startswith("_w")
        ]
        if added and len(select.expressions) == 1 and isinstance(select.expressions[0], exp.Star):
            select.set("expressions", [exp.Star(except_=[exp.column(name) for name in added])])
    return tree


def _rewrite(node: Any) -> Any:
    import sqlglot
    from sqlglot import exp

    if isinstance(node, exp.Filter) and _is_ordered_list(node.this):
        # DuckDB's list over no rows is NULL; Spark's collect_list gives []
        agg = _ordered_list(node.this.this, node.expression.sql(dialect="spark"))
        text = agg.sql(dialect="spark")
        return sqlglot.parse_one(f"CASE WHEN size({text}) > 0 THEN {text} END", read="spark")
    if isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order):
        return _ordered_list(node.this)
    if isinstance(node, exp.Anonymous) and node.name.lower() == "timezone":
        zone, value = node.expressions
        return _spark(f"from_utc_timestamp({_sql(value)}, {_sql(zone)})")
    if isinstance(node, exp.Length) and _is_list(node.this):
        return _spark(f"size({_sql(node.this)})")
    if isinstance(node, exp.DayOfWeekIso):
        # sqlglot writes (dayofweek % 7) + 1, which is not ISO; weekday() is 0 on Monday
        return _spark(f"(weekday({_sql(node.this)}) + 1)")
    if isinstance(node, exp.Div):
        # DuckDB's / gives DOUBLE for any numbers (Spark's keeps DECIMAL for decimals),
        # and by zero the IEEE result (Spark's is NULL)
        a, b = _sql(node.this), _sql(node.expression)
        return _spark(
            f"CASE WHEN ({b}) <> 0 OR ({b}) IS NULL OR ({a}) IS NULL "
            f"THEN CAST(({a}) AS DOUBLE) / ({b}) "
            f"WHEN ({a}) > 0 THEN double('Infinity') WHEN ({a}) < 0 THEN double('-Infinity') "
            "ELSE double('NaN') END"
        )
    if isinstance(node, exp.TimeToUnix):
        return _spark(f"(unix_micros(CAST({_sql(node.this)} AS TIMESTAMP)) / 1000000.0)")
    if isinstance(node, exp.UnixToTime) and node.args.get("scale") is None:
        return _spark(f"timestamp_micros(CAST(round(({_sql(node.this)}) * 1000000) AS BIGINT))")
    return node


def _is_ordered_list(node: Any) -> bool:
    from sqlglot import exp

    return isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order)


def _is_list(node: Any) -> bool:
    """Whether an expression is a list by its form (a column's type is not known here:
    canonical SQL writes ``array_length`` for a list column)."""
    from sqlglot import exp

    lists = (exp.Split, exp.RegexpSplit, exp.Array, exp.ArrayAgg, exp.ArrayDistinct)
    if isinstance(node, lists):
        return True
    return isinstance(node, exp.Anonymous) and node.name.lower().startswith("list_")


def _sql(node: Any) -> str:
    return str(node.sql(dialect="spark"))


def _spark(text: str) -> Any:
    import sqlglot

    return sqlglot.parse_one(text, read="spark")


def _ordered_list(order: Any, where: str = "") -> Any:
    from sqlglot import exp

    keys = order.expressions
    value = order.this
    if isinstance(value, exp.Distinct):
        [inner] = value.expressions
        if len(keys) == 1 and keys[0].this == inner and not keys[0].args.get("desc"):
            return _spark(f"array_sort(collect_set({_sql(inner)}) {_filter(where)})")
        raise UnsupportedOperation(
            "engine 'spark' translates list(DISTINCT x ORDER BY ...) only ordered by x"
        )
    fields = [f"{_sql(k.this)} AS k{i}" for i, k in enumerate(keys)]
    packed = ", ".join([*fields, f"{_sql(value)} AS v"])
    # the comparator: key by key, NULLs last (DuckDB's default), DESC reversed
    cases = []
    for i, k in enumerate(keys):
        sign = -1 if k.args.get("desc") else 1
        li, ri = f"l.k{i}", f"r.k{i}"
        cases.append(
            f"WHEN {li} IS NULL AND {ri} IS NOT NULL THEN 1 "
            f"WHEN {li} IS NOT NULL AND {ri} IS NULL THEN -1 "
            f"WHEN {li} < {ri} THEN {-sign} WHEN {li} > {ri} THEN {sign}"
        )
    compare = f"(l, r) -> CASE {' '.join(cases)} ELSE 0 END"
    return _spark(
        f"transform(array_sort(collect_list(struct({packed})) {_filter(where)}, {compare}), "
        "s -> s.v)"
    )


def _filter(where: str) -> str:
    """``FILTER (WHERE ...)`` from a generated ``WHERE ...`` clause (or nothing)."""
    return f"FILTER ({where})" if where else ""
