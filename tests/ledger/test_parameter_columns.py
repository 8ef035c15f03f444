"""The parameter columns are named once (ledger.models.PARAMETER_COLUMNS) and followed everywhere."""

from __future__ import annotations

import ast
from pathlib import Path

import reprovar
from reprovar.audit import query
from reprovar.cli import rows
from reprovar.ledger import ledger, models, records, seal, writer
from reprovar.ledger.models import PARAMETER_COLUMNS, variables_table
from reprovar.variable import DISTRIBUTION_PARAMETERS


def test_the_table_and_every_user_follow_the_one_tuple():
    assert PARAMETER_COLUMNS == ("mean", "scale", "low", "high")
    columns = [c.name for c in variables_table.columns]
    start = columns.index(PARAMETER_COLUMNS[0])
    assert tuple(columns[start:start + len(PARAMETER_COLUMNS)]) == PARAMETER_COLUMNS
    assert set(PARAMETER_COLUMNS) == {p for params in DISTRIBUTION_PARAMETERS.values() for p in params}
    assert query.PARAMETER_FIELDS is PARAMETER_COLUMNS
    assert rows.PARAMETER_COLUMNS is PARAMETER_COLUMNS
    assert ledger.PARAMETER_COLUMNS is PARAMETER_COLUMNS
    assert set(PARAMETER_COLUMNS) <= set(writer.VARIABLE_COLUMNS)
    assert set(PARAMETER_COLUMNS) <= {f for f in records.VariableRecord.__dataclass_fields__}
    # The frozen seal forms cover exactly these four, whatever is appended later.
    assert seal.PARAM_COLUMNS == PARAMETER_COLUMNS[:4]


def test_no_module_spells_the_tuple_out_again():
    src = Path(reprovar.__file__).parent
    spelled = []
    for path in src.rglob("*.py"):
        if "_migrations" in path.parts or path == Path(models.__file__):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Tuple) and len(node.elts) == 4 and all(
                    isinstance(e, ast.Constant) for e in node.elts):
                if tuple(e.value for e in node.elts) == PARAMETER_COLUMNS:
                    spelled.append(f"{path.relative_to(src)}:{node.lineno}")
    # The one distribution with all four parameters lists them as its own, and its law names
    # its keys, both in its module: what a distribution takes, not the columns.
    assert sorted(p.split(":")[0] for p in spelled) == ["distributions/truncated_normal.py"] * 2, spelled
