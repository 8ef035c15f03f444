"""How ledger-schema-0002.db was made (kept for the record; the .db file is frozen, not rebuilt).

It holds what reprovar wrote under the second ledger schema (revision 0002, normals only):
one run with its platform, and variables covering every dtype, the seed range edges, both
seed sources and a reused name.

    python tests/data/make_ledger_schema_0002.py tests/data/ledger-schema-0002.db
"""

import sys
from datetime import datetime, timezone

from alembic import command
from sqlalchemy import column, create_engine, insert, table

import reprovar
from reprovar.ledger.coltypes import uint64_to_db
from reprovar.ledger.digest import digest
from reprovar.ledger.runinfo import collect_run_info
from reprovar.ledger.schema import alembic_config

RUN_COLUMNS = ("started", "host", "user", "pid", "argv", "cwd", "git_commit", "python_version",
               "reprovar_version", "numpy_version", "numba_version", "platform")
VARIABLE_COLUMNS = ("run_id", "name", "version", "shape", "dtype", "distribution", "mean", "scale",
                    "seed", "seed_source", "algorithm", "algorithm_version", "digest", "nbytes", "created")
VARIABLES = [  # name, shape, mean, scale, dtype, seed, seed_source
    ("dense/kernel", (3, 4), 0.0, 0.05, "float32", 0, "user"),
    ("dense/kernel", (3, 4), 0.0, 0.05, "float32", 2**63, "os"),
    ("dense/bias", (4,), 1.5, 0.25, "float64", 2**64 - 1, "user"),
    ("embed 'é'", (2, 3), -1.0, 2.0, "bfloat16", 12345, "user"),
    ("half", (5,), 0.0, 1.0, "float16", 7, "os"),
    ("big", (300, 1000), 0.25, 3.0, "float32", 99, "user"),
]


def main(path: str) -> None:
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0002")
        info = {k: v for k, v in collect_run_info().items() if k in RUN_COLUMNS}
        info["started"] = info["started"].replace(tzinfo=None)
        run_id = conn.execute(insert(table("runs", *map(column, RUN_COLUMNS))).values(**info)).lastrowid
        versions: dict[str, int] = {}
        for name, shape, mean, scale, dtype, seed, source in VARIABLES:
            v = reprovar.random_normal_variable(shape, mean, scale, dtype=dtype, name=name, seed=seed, record=False)
            versions[name] = versions.get(name, 0) + 1
            conn.execute(insert(table("variables", *map(column, VARIABLE_COLUMNS))).values(
                run_id=run_id, name=name, version=versions[name], shape=str(list(shape)),
                dtype=dtype, distribution="normal", mean=mean, scale=scale,
                seed=uint64_to_db(seed), seed_source=source, algorithm=v.provenance.algorithm,
                algorithm_version=v.provenance.algorithm_version, digest=digest(v.numpy()),
                nbytes=v.nbytes,
                created=datetime.now(timezone.utc).replace(tzinfo=None).isoformat(sep=" "),
            ))
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1])
