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
  ``from_utc_timestamp(t, zone)``, read in the session zone (UTC); with ``t`` cast to a
  naive ``TIMESTAMP`` (a wall-clock time) DuckDB gives the instant it is in ``zone``:
  ``to_utc_timestamp(t, zone)``.
- ``jaro_winkler_similarity(a, b)``: ``jaro_winkler(a, b)``, the function of the jar
  Splink ships for Spark (loaded by the engine's sessions, ``spark.jars``), NULL when
  an operand is (the jar's gives 0).
- ``a && b`` (lists share an element): ``arrays_overlap(a, b)``.
- ``list_intersect(a, b)``: ``array_intersect`` (both keep each common element once).
- ``len(x)`` of a list made in the expression (``string_split``, ``list_*``):
  ``size(x)`` (NULL for NULL: see the engine's session settings); sqlglot writes
  ``length``, which is Spark's string length.
- ``isodow(t)``: ``weekday(t) + 1``; sqlglot's ``(dayofweek(t) % 7) + 1`` gives 2 on
  a Monday.
- ``epoch(t)`` (seconds, with the fraction): ``unix_micros(t) / 1e6``; sqlglot's
  ``unix_timestamp`` drops the fraction. ``to_timestamp(x)`` (seconds):
  ``timestamp_micros``; sqlglot's ``from_unixtime`` goes through text, to the second.

- ``avg(x)``: ``avg(CAST(x AS DOUBLE))`` (Spark averages a DECIMAL, such as
  ``CASE ... THEN 1.0 ELSE 0.0 END``, to four more decimal places only).
- ``a / b``: ``CAST(a AS DOUBLE) / b`` (DuckDB divides to DOUBLE, decimals too), and
  by zero infinity or NaN as DuckDB gives (Spark gives NULL).
- ``QUALIFY``: see :func:`without_qualify`.
- ``x[a:b]`` and ``list_slice(x, a, b)`` (a list slice, 1-based, both ends included;
  sqlglot keeps the brackets, which Spark does not parse): ``slice(x, a, b - a + 1)``.
- ``arg_max(x, k, n)`` (the ``x`` of the ``n`` largest ``k``, largest first; sqlglot
  drops ``n``): the ordered list rewrite of ``list(x ORDER BY k DESC)`` over the rows
  where neither is NULL, sliced to ``n``; ``arg_min`` ascending.
- regular expressions: RE2's script classes ``\\p{Han}`` as Java's ``\\p{IsHan}``.
- ``CAST(x AS HUGEINT)`` (a 128-bit integer, which Spark lacks):
  ``CAST(x AS DECIMAL(38, 0))``, the same values.
- ``format('{} of {}', a, b)``: ``format_string('%s of %s', a, b)`` (sqlglot keeps the
  braces, which Spark prints as they are), NULL when an argument is.
- ``json_object('k', v, ...)``: ``to_json(named_struct('k', v, ...))``; NULL values
  are kept as ``null`` (session setting ``spark.sql.jsonGenerator.ignoreNullFields``).
  The text may differ in number notation (Spark writes ``1.0E-6``, DuckDB
  ``0.000001``); the values are the same.

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
    "list slice",
    "top n arg_max",
    "json_object",
    "regex script class",
    "list_intersect",
    "list overlap",
    "jaro_winkler",
    "format",
    "avg",
    "hugeint",
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
        naive = (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPNTZ)
        if isinstance(value, exp.Cast) and value.to.this in naive:
            # a wall-clock time (DuckDB's naive TIMESTAMP): the instant it is in zone
            return _spark(f"to_utc_timestamp({_sql(value)}, {_sql(zone)})")
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
            f"WHEN ({a}) > 0 THEN {_INF} WHEN ({a}) < 0 THEN -{_INF} ELSE {_NAN} END"
        )
    if isinstance(node, exp.Bracket) and len(node.expressions) == 1:
        [part] = node.expressions
        if isinstance(part, exp.Slice):
            return _slice(node.this, part)
    if isinstance(node, exp.Avg) and not isinstance(node.this, exp.Distinct):
        # DuckDB averages to DOUBLE; Spark's avg of a DECIMAL (1.0 is one) is a DECIMAL
        # of four more places, rounded there
        return _spark(f"avg(CAST({_sql(node.this)} AS DOUBLE))")
    if isinstance(node, exp.Format):
        return _format(node)
    if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.INT128:
        # Spark has no 128-bit integer; DECIMAL(38, 0) holds the same values
        return exp.DataType.build("DECIMAL(38, 0)")
    if isinstance(node, exp.JarowinklerSimilarity):
        # the function of the jar Splink ships (the engine's sessions load it); it
        # gives 0 where DuckDB gives NULL (a NULL operand)
        a, b = _sql(node.this), _sql(node.expression)
        return _spark(
            f"CASE WHEN ({a}) IS NOT NULL AND ({b}) IS NOT NULL THEN jaro_winkler({a}, {b}) END"
        )
    if isinstance(node, exp.ArrayOverlaps):
        # sqlglot writes DuckDB's && unchanged, which Spark does not parse
        return _spark(f"arrays_overlap({_sql(node.this)}, {_sql(node.expression)})")
    if isinstance(node, exp.Anonymous) and node.name.lower() == "list_intersect":
        # both give the distinct common elements
        return exp.ArrayIntersect(expressions=list(node.expressions))
    if isinstance(node, exp.Anonymous) and node.name.lower() in ("list_slice", "array_slice"):
        value, start, end = node.expressions
        return _slice(value, exp.Slice(this=start, expression=end))
    if isinstance(node, exp.ArgMax | exp.ArgMin) and node.args.get("count") is not None:
        return _top_n(node)
    if isinstance(node, exp.JSONObject):
        pairs = ", ".join(f"{_sql(kv.this)}, {_sql(kv.expression)}" for kv in node.expressions)
        return _spark(f"to_json(named_struct({pairs}))")
    if isinstance(node, _regex_functions()):
        regex: Any = node
        if isinstance(regex.expression, exp.Literal):
            regex.set("expression", exp.Literal.string(_java_regex(regex.expression.this)))
        return regex
    if isinstance(node, exp.TimeToUnix):
        # DOUBLE, as DuckDB's (dividing by 1000000.0 alone gives Spark a DECIMAL)
        return _spark(
            f"(CAST(unix_micros(CAST({_sql(node.this)} AS TIMESTAMP)) AS DOUBLE) / 1000000.0)"
        )
    if isinstance(node, exp.UnixToTime) and node.args.get("scale") is None:
        return _spark(f"timestamp_micros(CAST(round(({_sql(node.this)}) * 1000000) AS BIGINT))")
    return node


def _format(node: Any) -> Any:
    """DuckDB's ``format('{} of {}', a, b)`` (fmt's placeholders) as Spark's
    ``format_string('%s of %s', a, b)``; only bare ``{}`` placeholders are translated."""
    from sqlglot import exp

    if not isinstance(node.this, exp.Literal):
        raise UnsupportedOperation(
            "engine 'spark' translates format() only with one literal pattern, got "
            f"{node.this.sql(dialect='duckdb')!r}"
        )
    pattern = node.this.this
    if "{" in pattern.replace("{}", "") or "}" in pattern.replace("{}", ""):
        raise UnsupportedOperation(
            f"engine 'spark' translates format() only with bare {{}} placeholders: {pattern!r}"
        )
    java = pattern.replace("%", "%%").replace("{}", "%s")
    args = [_sql(e) for e in node.expressions]
    text = f"format_string({exp.Literal.string(java).sql(dialect='spark')}, {', '.join(args)})"
    # DuckDB's is NULL when an argument is; Spark's prints "null"
    nulls = " OR ".join(f"({a}) IS NULL" for a in args)
    return _spark(f"CASE WHEN {nulls} THEN NULL ELSE {text} END" if args else text)


def _java_regex(pattern: str) -> str:
    """RE2's Unicode script classes (``\\p{Han}``) as Java writes them (``\\p{IsHan}``);
    one- and two-letter general categories (``\\p{L}``, ``\\p{Lu}``) are the same in both."""
    import re

    return re.sub(r"\\([pP])\{(?!Is|In)([A-Za-z_]{3,})\}", r"\\\1{Is\2}", pattern)


def _slice(value: Any, part: Any) -> Any:
    """DuckDB's ``value[a:b]`` (1-based, inclusive; either end may be left out) as
    Spark's ``slice(value, start, length)``; negative ends (from the back) are not
    translated."""
    from sqlglot import exp

    start, end = part.this, part.expression
    for bound in (start, end):
        if bound is not None and isinstance(bound, exp.Neg):
            raise UnsupportedOperation(
                "engine 'spark' translates list slices only with ends counted from the front"
            )
    a = _sql(start) if start is not None else "1"
    b = _sql(end) if end is not None else f"size({_sql(value)})"
    return _spark(f"slice({_sql(value)}, {a}, greatest(({b}) - ({a}) + 1, 0))")


def _top_n(node: Any) -> Any:
    """``arg_max(x, k, n)`` / ``arg_min(x, k, n)`` as a sorted, sliced list."""
    from sqlglot import exp

    desc = isinstance(node, exp.ArgMax)
    value, key, count = node.this, node.expression, node.args["count"]
    order = exp.Order(this=value, expressions=[exp.Ordered(this=key, desc=desc)])
    where = f"WHERE {_sql(key)} IS NOT NULL AND {_sql(value)} IS NOT NULL"
    ordered = _ordered_list(order, where).sql(dialect="spark")
    # over no rows DuckDB gives NULL, Spark's collect_list an empty array
    return _spark(f"CASE WHEN size({ordered}) > 0 THEN slice({ordered}, 1, {_sql(count)}) END")


def _regex_functions() -> tuple[type[Any], ...]:
    from sqlglot import exp

    return (exp.RegexpLike, exp.RegexpReplace, exp.RegexpExtract, exp.RegexpSplit,
            exp.RegexpExtractAll, exp.RegexpILike, exp.RegexpCount)  # fmt: skip


# written through FLOAT: Splink re-reads the SQL it runs on Spark with sqlglot, which
# turns CAST('NaN' AS DOUBLE) into NaND, a column name
_INF = "CAST(CAST('Infinity' AS FLOAT) AS DOUBLE)"
_NAN = "CAST(CAST('NaN' AS FLOAT) AS DOUBLE)"


def _is_ordered_list(node: Any) -> bool:
    from sqlglot import exp

    return isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order)


def _is_list(node: Any) -> bool:
    """Whether an expression is a list by its form (a column's type is not known here:
    canonical SQL writes ``array_length`` for a list column)."""
    from sqlglot import exp

    lists = (exp.Split, exp.RegexpSplit, exp.Array, exp.ArrayAgg, exp.ArrayDistinct,
             exp.ArrayIntersect, exp.ArrayConcat)  # fmt: skip
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
