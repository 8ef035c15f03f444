"""Name prefix patterns (``find --name 'dense_*'``) are served by an index on every backend.

PostgreSQL: the ``varchar_pattern_ops`` index of revision 0006 with ``LIKE 'dense\\_%'``;
SQLite and MariaDB: the (name, version) unique index with a range on the literal prefix.
"""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import insert, text

from reprovar.audit.query import VariableFilter, select_variables
from reprovar.ledger.models import NAME_PATTERN_INDEX, runs_table, variables_table

ROWS = 6_000

#: What each backend's plan shows when an index serves the prefix (SQLite names the unique
#: constraint's index itself).
EXPECTED_INDEX = {
    "postgresql": NAME_PATTERN_INDEX.name,  # in "Index Scan using" or "Bitmap Index Scan on"
    "sqlite": "USING INDEX sqlite_autoindex_reprovar_variables_1 (name>? AND name<?)",
    "mysql": "uq_reprovar_variables_name_version",
}


def _fill(ledger) -> None:
    now = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
    with ledger.engine.begin() as c:
        run_id = c.execute(insert(runs_table), {
            "started": now, "host": "h", "user": "u", "pid": 1, "argv": "[]", "cwd": "/",
            "git_commit": None, "python_version": "3", "reprovar_version": "0", "numpy_version": "2",
            "numba_version": "0", "platform": None}).inserted_primary_key[0]
        c.execute(insert(variables_table), [{
            "run_id": run_id, "name": f"{('dense', 'conv', 'layer')[i % 3]}_{i % 997}/w{i // 997}",
            "version": 1, "shape": json.dumps([2, 3]), "dtype": "float32", "distribution": "normal",
            "mean": 0.0, "scale": 1.0, "seed": i, "seed_source": "user",
            "algorithm": "philox4x32-10/box-muller", "algorithm_version": 1, "digest": "x:0",
            # A placeholder seal: these rows only serve the query plans, they are never verified.
            "nbytes": 24, "created": now, "seal": "rs1:sha256:" + "0" * 64} for i in range(ROWS)])
        c.exec_driver_sql({"sqlite": "ANALYZE", "postgresql": "ANALYZE reprovar_variables"}.get(
            ledger.engine.dialect.name, "ANALYZE TABLE reprovar_variables"))


def _plan(ledger, pattern: str) -> str:
    dialect = ledger.engine.dialect
    stmt = select_variables(VariableFilter.create(name=pattern), dialect.name).limit(1000)
    sql = str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    explain = "EXPLAIN QUERY PLAN " if dialect.name == "sqlite" else "EXPLAIN "
    with ledger.connect() as c:
        result = c.execute(text(explain + sql))
        return "\n".join(" ".join(str(v) for v in row) for row in result)


def test_prefix_patterns_use_an_index(ledger):
    _fill(ledger)
    for pattern in ("dense_7/*", "conv_12?/w1*"):
        plan = _plan(ledger, pattern)
        assert EXPECTED_INDEX[ledger.engine.dialect.name] in plan, plan
        assert "Seq Scan" not in plan and "SCAN reprovar_variables" not in plan, plan
        found = ledger.find(pattern)
        assert found and all(r.name.startswith(pattern.split("?")[0].rstrip("*")) for r in found)
    # No literal prefix, no index range: the rows are still found (and checked exactly).
    i = 3 * 997 + 5  # the one row named <kind>_5/w3
    assert [r.name for r in ledger.find("*_5/w3")] == [f"{('dense', 'conv', 'layer')[i % 3]}_5/w3"]
