"""What ``reprovar sql`` lets reach the database: one read-only query over the ledger's tables.

The statement is parsed (sqlglot, in the ledger's SQL dialect) and checked against
allow-lists before it is sent: the statement must be one query (``SELECT``, ``WITH ...
SELECT``, set operations, ``VALUES``; on SQLite also a reporting ``PRAGMA``), every part of
it must be an ordinary query part (no ``INTO``, no row locks, no session variables, no
data-changing CTEs), every function must be on :data:`ALLOWED_FUNCTIONS` (so
``pg_read_file``, ``LOAD_FILE``, ``pg_terminate_backend``, ``lo_import``, ``dblink``,
``set_config``, ``sleep``, ``load_extension`` and anything unknown are refused), and every
table must be one of the database's own, named without a schema (so neither
``mysql.user`` nor ``pg_authid`` can be read). A statement the parser cannot read is
refused too.

This check is the first wall; the read-only connection (:mod:`.readonly`) is the second,
and a least-privilege account (docs/sql.md: read-only accounts) the third.

Example:
    >>> check_query("SELECT name FROM variables", "sqlite", tables={"variables"})
    >>> check_query("SELECT pg_read_file('/etc/passwd')", "postgresql", tables=set())
    Traceback (most recent call last):
    ...
    reprovar.audit.errors.ReadOnlyViolationError: refused: reprovar sql runs only read-only queries; function pg_read_file() is not on its list of allowed functions
"""

from __future__ import annotations

import re
from typing import Iterable

from .errors import ReadOnlyViolationError, SQLQueryError

#: The sqlglot dialect for each SQLAlchemy backend name (MariaDB parses as MySQL).
DIALECTS = {"sqlite": "sqlite", "postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql"}

#: Statement roots that are queries.
_QUERY_ROOTS = {"Select", "Union", "Intersect", "Except", "Subquery", "Values"}

#: Query parts (sqlglot expression classes) that only read. Binary operators are allowed as a
#: family (comparisons, arithmetic, AND/OR, LIKE, ||, JSON operators), minus those below.
_ALLOWED_PARTS = {
    "Select", "Union", "Intersect", "Except", "Subquery", "Values", "With", "CTE", "Recursive",
    "From", "Join", "Where", "Group", "Having", "Order", "Ordered", "Limit", "Offset", "Fetch",
    "Qualify", "Window", "WindowSpec", "Filter", "Column", "Identifier", "Table", "TableAlias",
    "Alias", "Aliases", "Star", "Literal", "Boolean", "Null", "Tuple", "Distinct", "DataType",
    "DataTypeParam", "Var", "Interval", "IntervalSpan", "Paren", "Neg", "Not", "BitwiseNot",
    "In", "Between", "Exists", "Any", "All", "Bracket", "AtTimeZone", "ColumnDef", "JSONPath",
    "Slice", "RespectNulls", "IgnoreNulls", "WithinGroup", "HavingMax", "Kwarg",
}
#: Binary operators refused: ``@a := 1`` assigns a session variable; ``OPERATOR(schema.op)``
#: calls whatever function that operator was defined with.
_REFUSED_BINARY = {"PropertyEQ", "Operator"}

#: Why a part is refused, where a reason helps.
_REASONS = {
    "Into": "SELECT ... INTO writes a table or a file",
    "Lock": "FOR UPDATE / FOR SHARE / LOCK IN SHARE MODE take row locks",
    "Parameter": "session variables (@name) are not allowed",
    "SessionParameter": "server variables (@@name) are not allowed",
    "PropertyEQ": "assignments (:=) are not allowed",
    "Operator": "OPERATOR(...) may call any function",
    "Placeholder": "placeholders are not allowed",
    "Lateral": "LATERAL is not allowed",
}

#: Functions allowed, by sqlglot class (functions sqlglot knows) ...
_ALLOWED_FUNCTION_CLASSES = {
    # aggregates
    "Count", "CountIf", "Sum", "Avg", "Min", "Max", "Stddev", "StddevPop", "StddevSamp",
    "Variance", "VariancePop", "GroupConcat", "ArrayAgg", "LogicalAnd", "LogicalOr",
    "PercentileCont", "PercentileDisc", "Median", "ApproxDistinct", "AnyValue", "Corr",
    "CovarPop", "CovarSamp", "JSONArrayAgg", "JSONObjectAgg",
    # window functions
    "RowNumber", "Rank", "DenseRank", "PercentRank", "CumeDist", "Ntile", "Lag", "Lead",
    "FirstValue", "LastValue", "NthValue",
    # conditionals and casts
    "Case", "If", "Exists", "Coalesce", "Nullif", "Greatest", "Least", "Cast", "TryCast", "Nvl2",
    # numbers
    "Abs", "Round", "Floor", "Ceil", "Sign", "Sqrt", "Cbrt", "Pow", "Exp", "Ln", "Log", "Log2",
    "Log10", "Mod", "Trunc", "Pi", "Degrees", "Radians", "Sin", "Cos", "Tan", "Asin", "Acos",
    "Atan", "Atan2", "BitwiseAnd", "BitwiseOr", "BitwiseXor", "BitwiseCount",
    # text
    "Lower", "Upper", "Length", "BitLength", "ByteLength", "Substring", "Trim", "Concat",
    "ConcatWs", "StrPosition", "Left", "Right", "Pad", "Repeat", "Reverse", "Initcap",
    "Replace", "Hex", "LowerHex", "Unhex", "Typeof", "Unicode", "Chr", "Ascii", "SplitPart",
    "RegexpLike", "RegexpILike", "RegexpReplace", "RegexpExtract", "RegexpSplit", "StartsWith",
    "EndsWith", "Contains", "Format", "ToChar", "ToNumber", "MD5", "MD5Digest", "SHA", "SHA2",
    "Space", "Translate", "Levenshtein", "Soundex", "Collate", "Glob",
    # times
    "CurrentDate", "CurrentTime", "CurrentTimestamp", "CurrentDatetime", "Date", "Time",
    "Datetime", "Timestamp", "DateTrunc", "TimestampTrunc", "TimeTrunc", "Extract", "DateAdd",
    "DateSub", "DateDiff", "DatetimeAdd", "DatetimeSub", "DatetimeDiff", "TimestampAdd",
    "TimestampSub", "TimestampDiff", "TimeAdd", "TimeSub", "TimeDiff", "TsOrDsAdd",
    "TsOrDsDiff", "TsOrDsToDate", "TsOrDsToTimestamp", "TsOrDsToTime", "TimeToStr",
    "TimeStrToTime", "TimeStrToDate", "TimeStrToUnix", "StrToTime", "StrToDate", "StrToUnix",
    "UnixToTime", "UnixToStr", "UnixToTimeStr", "TimeToUnix", "UnixSeconds", "DateStrToDate",
    "DateToDateStr", "DiToDate", "DateToDi", "Year", "Quarter", "Month", "Week", "WeekOfYear",
    "Day", "DayOfWeek", "DayOfMonth", "DayOfYear", "Hour", "Minute", "Second", "LastDay",
    "MakeInterval", "ToDays", "MonthsBetween", "AddMonths",
    # JSON
    "JSONExtract", "JSONExtractScalar", "JSONBExtract", "JSONBExtractScalar", "JSONExtractArray",
    "JSONArrayLength", "JSONObject", "JSONArray", "JSONFormat", "JSONType", "JSONValue",
    "JSONValueArray", "JSONKeys", "JSONArrayContains", "JSONBContains", "JSONBExists",
    "JSONBObjectAgg", "ParseJSON", "JSONExists", "JSONBool", "IsJSON",
    # arrays and generated rows
    "Array", "ArraySize", "ArrayContains", "ArrayToString", "ArrayConcat", "Unnest", "Explode",
    "GenerateSeries", "ExplodingGenerateSeries", "GenerateDateArray", "ArrayFilter", "Struct",
}
#: ... and by name (functions sqlglot passes through unparsed), lower case.
_ALLOWED_FUNCTION_NAMES = {
    "count", "sum", "avg", "min", "max", "total", "group_concat", "string_agg", "array_agg",
    "bool_and", "bool_or", "every", "stddev", "stddev_pop", "stddev_samp", "variance",
    "var_pop", "var_samp", "median", "json_agg", "jsonb_agg", "json_object_agg",
    "json_group_array", "json_group_object", "json_arrayagg", "json_objectagg",
    "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead",
    "first_value", "last_value", "nth_value",
    "coalesce", "ifnull", "nullif", "iif", "if", "greatest", "least", "nvl",
    "abs", "round", "floor", "ceil", "ceiling", "sign", "sqrt", "power", "pow", "exp", "ln",
    "log", "log2", "log10", "mod", "trunc", "truncate", "div", "pi",
    "lower", "upper", "lcase", "ucase", "length", "char_length", "character_length",
    "octet_length", "bit_length", "substr", "substring", "mid", "trim", "ltrim", "rtrim",
    "btrim", "replace", "instr", "locate", "position", "strpos", "concat", "concat_ws", "left",
    "right", "lpad", "rpad", "reverse", "repeat", "printf", "format", "quote", "hex", "unhex",
    "to_hex", "typeof", "unicode", "char", "chr", "ascii", "split_part", "initcap",
    "regexp_like", "regexp_replace", "regexp_substr", "regexp_instr", "regexp_match",
    "regexp_matches", "starts_with", "to_char", "to_number", "md5", "glob", "like",
    "field", "elt", "find_in_set", "format_bytes", "sha1", "sha2",
    "date", "time", "datetime", "julianday", "unixepoch", "strftime", "timediff", "now",
    "current_date", "current_time", "current_timestamp", "localtime", "localtimestamp",
    "date_trunc", "date_part", "extract", "age", "to_timestamp", "to_date", "make_date",
    "make_timestamp", "from_unixtime", "unix_timestamp", "date_format", "str_to_date",
    "timestampdiff", "timestampadd", "datediff", "date_add", "date_sub", "adddate", "subdate",
    "year", "month", "day", "dayofmonth", "dayofweek", "dayofyear", "hour", "minute",
    "second", "week", "weekday", "quarter", "last_day", "utc_timestamp", "utc_date",
    "convert_tz", "isfinite",
    "json", "json_extract", "json_unquote", "json_value", "json_query", "json_array_length",
    "json_type", "json_valid", "json_object", "json_array", "json_each", "json_tree",
    "json_contains", "json_keys", "json_length", "json_search", "json_build_array",
    "json_build_object", "json_array_elements", "json_array_elements_text",
    "jsonb_array_elements", "jsonb_array_elements_text", "jsonb_array_length", "jsonb_typeof",
    "json_typeof", "to_json", "to_jsonb", "jsonb_build_object", "jsonb_build_array",
    "jsonb_extract_path", "jsonb_extract_path_text", "json_extract_path",
    "json_extract_path_text", "json_quote", "json_patch", "json_set", "json_insert",
    "json_remove", "json_replace", "json_pretty",
    "generate_series", "unnest", "array_length", "array_to_string", "cardinality",
    "string_to_array",
}

#: SQLite pragmas that only report (``PRAGMA name`` or ``PRAGMA name(table)``).
SQLITE_REPORTING_PRAGMAS = {
    "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
    "foreign_key_list", "database_list", "collation_list", "function_list", "pragma_list",
    "compile_options",
}
_PRAGMA = re.compile(r"\s*PRAGMA\s+(\w+)\s*(?:\(\s*(['\"`]?)\w+\2\s*\))?\s*;?\s*", re.IGNORECASE)


def check_query(statement: str, backend: str, *, tables: Iterable[str] | None) -> None:
    """Refuse ``statement`` unless it is one read-only query over ``tables`` (see the module).

    ``backend`` is the SQLAlchemy backend name (``sqlite``, ``postgresql``, ``mysql``,
    ``mariadb``); ``tables`` the database's own tables (None: any unqualified table).
    Raises :class:`ReadOnlyViolationError` for a refused statement, :class:`SQLQueryError`
    for one that cannot be parsed, is not exactly one statement or names an unknown table.
    """
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    if not isinstance(statement, str):
        raise SQLQueryError(f"the SQL statement must be a str, got {type(statement).__name__}")
    dialect = DIALECTS.get(backend)
    if dialect is None:
        raise SQLQueryError(f"read-only SQL is not supported for {backend!r} ledgers")
    if backend == "sqlite" and _PRAGMA.fullmatch(statement):
        name = _PRAGMA.fullmatch(statement).group(1).lower()
        if name not in SQLITE_REPORTING_PRAGMAS:
            raise ReadOnlyViolationError(_refused(f"PRAGMA {name} is not a reporting pragma "
                                                  f"({', '.join(sorted(SQLITE_REPORTING_PRAGMAS))})"))
        return
    try:
        trees = [t for t in sqlglot.parse(statement, read=dialect) if t is not None]
    except SqlglotError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise SQLQueryError(f"SQL error: cannot parse the statement ({first}); reprovar sql "
                            "accepts one read-only SELECT query") from None
    if len(trees) != 1:
        raise SQLQueryError(f"SQL error: reprovar sql runs exactly one statement, got {len(trees)}")
    tree = trees[0]
    kind = type(tree).__name__
    if kind not in _QUERY_ROOTS:
        shown = statement.split(None, 1)[0].upper() if statement.split() else kind
        raise ReadOnlyViolationError(_refused(f"{shown} is not a query (SELECT, WITH ... SELECT, VALUES)"))
    ctes = {cte.alias_or_name.casefold() for cte in tree.find_all(exp.CTE)}
    known = None if tables is None else {t.casefold() for t in tables}
    for node in tree.walk():
        _check_part(node, exp, ctes, known)


def _check_part(node, exp, ctes: set[str], tables: set[str] | None) -> None:
    kind = type(node).__name__
    anonymous = kind in ("Anonymous", "AnonymousAggFunc")  # a function sqlglot does not know
    # Operators that sqlglot models as functions too (JSON ->, ||) are checked as operators.
    if anonymous or (isinstance(node, exp.Func) and not isinstance(node, exp.Binary)):
        if anonymous:
            allowed, shown = node.name.lower() in _ALLOWED_FUNCTION_NAMES, node.name
        else:
            allowed, shown = kind in _ALLOWED_FUNCTION_CLASSES, (node.sql_name() or kind).lower()
        if not allowed:
            raise ReadOnlyViolationError(_refused(
                f"function {shown}() is not on its list of allowed functions"))
        if isinstance(node.parent, exp.Dot) and node.parent.expression is node:
            # schema.lower(x) calls whatever that schema defines under an allowed name.
            raise ReadOnlyViolationError(_refused(
                f"function {node.parent.sql()} names a schema; call allowed functions unqualified"))
        return
    if isinstance(node, exp.Binary):
        if kind in _REFUSED_BINARY:
            raise ReadOnlyViolationError(_refused(_REASONS[kind]))
        return
    if isinstance(node, exp.JSONPathPart):
        return
    if kind not in _ALLOWED_PARTS:
        raise ReadOnlyViolationError(_refused(_REASONS.get(kind, f"{kind} is not allowed in a read-only query")))
    if kind == "Table":
        _check_table(node, exp, ctes, tables)


def _check_table(node, exp, ctes: set[str], tables: set[str] | None) -> None:
    if isinstance(node.this, exp.Func):
        return  # a table-valued function: checked as a function
    name = node.name
    if node.args.get("db") is not None or node.args.get("catalog") is not None:
        raise ReadOnlyViolationError(_refused(
            f"table {node.sql()} names a schema or database; name the ledger's tables alone"))
    if name.casefold() in ctes or tables is None:
        return
    if name.casefold() not in tables:
        listed = ", ".join(sorted(tables)) or "none"
        raise SQLQueryError(f"SQL error: no table {name!r} in this ledger's database (tables: {listed})")


def _refused(reason: str) -> str:
    return f"refused: reprovar sql runs only read-only queries; {reason}"
