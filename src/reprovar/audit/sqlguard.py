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

The check judges what the server will execute:

* comments the server executes are refused: MariaDB/MySQL executable comments
  (``/*! ... */``, ``/*!50100 ... */``, ``/*M! ... */``) and optimizer hints (``/*+ ... */``,
  on every backend: MySQL reads them, and so does PostgreSQL's pg_hint_plan); ordinary
  comments stay comments;
* a table name refers to a CTE only where the server's scoping makes it one: in the query
  whose ``WITH`` defines it, in a later CTE of that ``WITH``, and in its own body when the
  ``WITH`` is ``RECURSIVE``. Anywhere else (a CTE inside a subquery, a CTE's own body
  without ``RECURSIVE``) the name is the real table and is checked like one;
* the server's session reads the text as the parser does (:mod:`.readonly` sets MariaDB's
  ``sql_mode`` without ``NO_BACKSLASH_ESCAPES``/``ANSI_QUOTES`` and PostgreSQL's
  ``standard_conforming_strings``).

Parsing is bounded: statements longer than :data:`MAX_STATEMENT_CHARS` or nested deeper
than :data:`MAX_NESTING` are refused before they are parsed, and one too deep for the parser
anyway is one :class:`SQLQueryError`. The parser's own warnings are not printed.

This check is the first wall; the read-only connection (:mod:`.readonly`) is the second,
and a least-privilege account (docs/sql.md: read-only accounts) the third.

Example:
    >>> check_query("SELECT name FROM variables", "sqlite", tables={"variables"})
    >>> check_query("SELECT pg_read_file('/etc/passwd')", "postgresql", tables=set())
    Traceback (most recent call last):
    ...
    reprovar.errors.ReadOnlyViolationError: refused: reprovar sql runs only read-only queries; function pg_read_file() is not on its list of allowed functions
"""

from __future__ import annotations

import logging
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

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
#: Longest statement checked, in characters: the parser is pure Python and its time grows
#: with the text (a 64,000-character IN list took 0.22-0.28 s to check on the 2-core
#: development VM).
MAX_STATEMENT_CHARS = 65_536
#: Deepest nesting of parentheses checked (the parser recurses once per level and more).
MAX_NESTING = 64
#: Comments that MariaDB/MySQL execute: ``/*!``, ``/*!50100``, ``/*M!``, ``/*M!100100``.
_EXECUTABLE_COMMENT = re.compile(r"/\*m?!", re.IGNORECASE)
_HINT_COMMENT = re.compile(r"/\*\+")
_PRAGMA = re.compile(r"\s*PRAGMA\s+(\w+)\s*(?:\(\s*(['\"`]?)\w+\2\s*\))?\s*;?\s*", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedQuery:
    """A statement parsed for :func:`check_parsed` (``tree`` None: a SQLite reporting pragma,
    already accepted).

    Example:
        >>> parse_query("SELECT 1", "sqlite").tree.sql()
        'SELECT 1'
    """

    statement: str
    backend: str
    tree: Any


def check_query(statement: str, backend: str, *, tables: Iterable[str] | None) -> None:
    """Refuse ``statement`` unless it is one read-only query over ``tables`` (see the module).

    ``backend`` is the SQLAlchemy backend name (``sqlite``, ``postgresql``, ``mysql``,
    ``mariadb``); ``tables`` the database's own tables (None: any unqualified table).
    Raises :class:`ReadOnlyViolationError` for a refused statement, :class:`SQLQueryError`
    for one that cannot be parsed, is not exactly one statement or names an unknown table.
    """
    check_parsed(parse_query(statement, backend), tables=tables)


def parse_query(statement: str, backend: str) -> ParsedQuery:
    """Parse ``statement`` as ``backend``'s server reads it, refusing executable comments,
    optimizer hints and statements too long or too deep to parse (see the module).

    Example:
        >>> parse_query("SELECT 1 /*!, @@datadir */", "mariadb")
        Traceback (most recent call last):
        ...
        reprovar.errors.ReadOnlyViolationError: refused: reprovar sql runs only read-only queries; MariaDB/MySQL execute comments written /*! ... */ or /*M! ... */ as SQL, which the check would not see; remove the comment
    """
    from sqlglot.dialects.dialect import Dialect
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
        return ParsedQuery(statement, backend, None)
    if len(statement) > MAX_STATEMENT_CHARS:
        raise SQLQueryError(f"SQL error: the statement is {len(statement)} characters long; reprovar sql "
                            f"checks statements of at most {MAX_STATEMENT_CHARS} characters")
    reader = Dialect.get_or_raise(dialect)
    try:
        with _quiet_parser():
            tokens = reader.tokenize(statement)
            _check_comments(statement, tokens, backend)
            _check_nesting(tokens)
            trees = [t for t in reader.parser().parse(tokens, statement) if t is not None]
    except SqlglotError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise SQLQueryError(f"SQL error: cannot parse the statement ({first}); reprovar sql "
                            "accepts one read-only SELECT query") from None
    except RecursionError:
        raise _too_deep() from None
    except SQLQueryError:
        raise
    except Exception as e:  # the parser failing on odd input: a statement it cannot read
        raise SQLQueryError(f"SQL error: cannot parse the statement ({type(e).__name__}: "
                            f"{str(e).splitlines()[0] if str(e) else ''}); reprovar sql accepts one "
                            "read-only SELECT query") from None
    if len(trees) != 1:
        raise SQLQueryError(f"SQL error: reprovar sql runs exactly one statement, got {len(trees)}")
    return ParsedQuery(statement, backend, trees[0])


def check_parsed(parsed: ParsedQuery, *, tables: Iterable[str] | None) -> None:
    """Refuse the parsed statement unless it is one read-only query over ``tables``; see
    :func:`check_query`.

    Example:
        >>> check_parsed(parse_query("SELECT * FROM t", "sqlite"), tables={"t"})
    """
    from sqlglot import exp

    tree = parsed.tree
    if tree is None:
        return
    kind = type(tree).__name__
    if kind not in _QUERY_ROOTS:
        words = parsed.statement.split()
        shown = words[0].upper() if words else kind
        raise ReadOnlyViolationError(_refused(f"{shown} is not a query (SELECT, WITH ... SELECT, VALUES)"))
    known = None if tables is None else {t.casefold() for t in tables}
    try:
        for node in tree.walk():
            _check_part(node, exp, parsed.backend, known)
    except RecursionError:
        raise _too_deep() from None


def _too_deep() -> SQLQueryError:
    return SQLQueryError(f"SQL error: the statement is nested too deeply to check; reprovar sql checks "
                         f"statements nested up to {MAX_NESTING} levels")


def _check_comments(statement: str, tokens, backend: str) -> None:
    # Whatever lies between two tokens is whitespace or comments, delimiters included.
    gaps, at = [], 0
    for token in tokens:
        if token.token_type.name == "HINT":
            raise ReadOnlyViolationError(_refused(_HINT_REASON))
        gaps.append(statement[at:token.start])
        at = token.end + 1
    gaps.append(statement[at:])
    for gap in gaps:
        if not gap.strip():
            continue
        if backend in ("mysql", "mariadb") and _EXECUTABLE_COMMENT.search(gap):
            raise ReadOnlyViolationError(_refused(
                "MariaDB/MySQL execute comments written /*! ... */ or /*M! ... */ as SQL, which the "
                "check would not see; remove the comment"))
        if _HINT_COMMENT.search(gap):
            raise ReadOnlyViolationError(_refused(_HINT_REASON))


_HINT_REASON = ("optimizer hints (/*+ ... */) change how the server runs the statement "
                "(time limits included); remove the hint")


def _check_nesting(tokens) -> None:
    depth = 0
    for token in tokens:
        name = token.token_type.name
        if name in ("L_PAREN", "L_BRACKET", "L_BRACE"):
            depth += 1
            if depth > MAX_NESTING:
                raise _too_deep()
        elif name in ("R_PAREN", "R_BRACKET", "R_BRACE"):
            depth -= 1


class _DropParserWarnings(logging.Filter):
    """Drops sqlglot's log records in threads that are checking a statement: a statement it
    cannot read is refused with one clear error, not a warning printed before it."""

    active = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(self.active, "on", False)


_FILTER = _DropParserWarnings()


@contextmanager
def _quiet_parser() -> Iterator[None]:
    logger = logging.getLogger("sqlglot")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    _FILTER.active.on = True
    try:
        yield
    finally:
        _FILTER.active.on = False


def _check_part(node, exp, backend: str, tables: set[str] | None) -> None:
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
        _check_table(node, exp, backend, tables)


def _check_table(node, exp, backend: str, tables: set[str] | None) -> None:
    if isinstance(node.this, exp.Func):
        return  # a table-valued function: checked as a function
    name = node.name
    if node.args.get("db") is not None or node.args.get("catalog") is not None:
        raise ReadOnlyViolationError(_refused(
            f"table {node.sql()} names a schema or database; name the ledger's tables alone"))
    if tables is None or _names_a_cte(node, exp, backend):
        return
    if name.casefold() not in tables:
        listed = ", ".join(sorted(tables)) or "none"
        raise SQLQueryError(f"SQL error: no table {name!r} in this ledger's database (tables: {listed})")


def _refused(reason: str) -> str:
    return f"refused: reprovar sql runs only read-only queries; {reason}"


def _names_a_cte(table, exp, backend: str) -> bool:
    """Whether the server reads ``table`` as a CTE: one defined by the WITH of a query around
    it, where that CTE is in scope (see the module). Where backends differ, the narrowest
    scope counts, so a name is never taken for a CTE the server reads as a table."""
    name = _identifier_key(table.this, backend)
    node = table
    while node.parent is not None:
        parent = node.parent
        if isinstance(parent, exp.With):
            # ``node`` is one of this WITH's CTEs: the ones before it are in scope there,
            # and itself only in a RECURSIVE WITH.
            ctes = list(parent.expressions)
            position = next(i for i, cte in enumerate(ctes) if cte is node)
            visible = ctes[:position + 1] if parent.args.get("recursive") else ctes[:position]
            if any(_identifier_key(cte.args.get("alias") and cte.args["alias"].this, backend) == name
                   for cte in visible):
                return True
        else:
            with_ = parent.args.get("with_") or parent.args.get("with")
            if with_ is not None and with_ is not node and any(
                    _identifier_key(cte.args.get("alias") and cte.args["alias"].this, backend) == name
                    for cte in with_.expressions):
                return True
        node = parent
    return False


def _identifier_key(identifier, backend: str):
    # How the server compares the name: PostgreSQL folds unquoted names to lower case and
    # keeps quoted ones; elsewhere the exact text (a narrower match than the server's).
    if identifier is None or not hasattr(identifier, "quoted"):
        return None
    text = identifier.this
    if backend == "postgresql" and not identifier.quoted:
        return text.lower()
    return text
