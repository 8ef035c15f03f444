"""The ledger's tables: one row per run, one per variable, one per tracker link (SQLAlchemy Core).

The tables are named ``reprovar_runs`` and ``reprovar_variables`` (revision 0005), so a
database can hold a ledger beside other applications' tables. These tables describe the
schema at head; the Alembic migrations in ``reprovar._migrations``
create it (a test checks that both agree on every backend). They are Core tables, not ORM
models: the ledger reads and writes rows with Core statements (the hot write path with
statements compiled once, see :mod:`.writer`), and not importing ``sqlalchemy.orm`` keeps
start-up short.

A distribution with a new parameter (say ``df``) needs, besides its algorithm:

1. its name appended to :data:`PARAMETER_COLUMNS` (the table gets the column from it) and
   to the distribution's entry in :data:`reprovar.variable.DISTRIBUTION_PARAMETERS`;
2. a new Alembic revision in ``migrations/versions`` that adds the nullable column (never
   edit a released revision: each historical schema is a frozen test database);
3. a new seal form in :mod:`.seal`: the forms ``rs1``/``rs2`` seal exactly the first four
   parameter columns and are frozen (revision 0004's migration carries a copy of the first),
   so a row that has the new parameter gets a new prefix and canonical text listing it,
   and every older form stays as it is, so old rows keep verifying;
4. a field of that name in :class:`.records.VariableRecord` (the checks of a read row in
   :mod:`.records`, the writer's column list in :mod:`.writer`, ``changes`` in
   :mod:`reprovar.audit.query` and the CLI's columns follow :data:`PARAMETER_COLUMNS`), and
   a density for the distribution in :mod:`reprovar.audit.densities`.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql

from ..validation import MAX_NAME_LENGTH

from .coltypes import UInt64, UTCDateTime

#: Explicit constraint names, so migrations (and SQLite batch mode) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: MariaDB: 4-byte UTF-8 for any name, InnoDB for transactions.
MYSQL_TABLE_ARGS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}

#: Variable names compare byte-for-byte everywhere: MariaDB's default collations would make
#: "W" and "w" (or "a" and "a ") one name and break version numbering. NOPAD, because
#: utf8mb4_bin still ignores trailing spaces in "=" on MariaDB.
NAME_TYPE = String(MAX_NAME_LENGTH).with_variant(
    mysql.VARCHAR(MAX_NAME_LENGTH, charset="utf8mb4", collation="utf8mb4_nopad_bin"), "mysql", "mariadb"
)

#: Room for the longest seal ("rs1:hmac-sha256:<16 hex key id>:<64 hex>" is 97 characters).
SEAL_LENGTH = 128

#: SQLite only auto-increments an ``INTEGER PRIMARY KEY``.
ID_TYPE = BigInteger().with_variant(Integer(), "sqlite")


#: The ledger's tables, with constraint names from :data:`NAMING_CONVENTION`.
metadata = MetaData(naming_convention=NAMING_CONVENTION)

#: A process that recorded variables: where, when, by whom, with which software.
runs_table = Table(
    "reprovar_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started", UTCDateTime, nullable=False),
    Column("host", String(255), nullable=False),
    Column("user", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("argv", Text, nullable=False),  # JSON list of strings
    Column("cwd", Text, nullable=False),
    Column("git_commit", String(64)),
    Column("python_version", String(64), nullable=False),
    Column("reprovar_version", String(64), nullable=False),
    Column("numpy_version", String(64), nullable=False),
    Column("numba_version", String(64), nullable=False),
    Column("platform", String(255)),  # added by revision 0002
    Index("ix_reprovar_runs_started", "started"),
    **MYSQL_TABLE_ARGS,
)

#: The parameter columns of a variable row, in table order: the union of every
#: distribution's parameters (:data:`reprovar.variable.DISTRIBUTION_PARAMETERS`). The table,
#: the writer, records, seals, queries and the CLI all take them from here.
PARAMETER_COLUMNS = ("mean", "scale", "low", "high")

#: A created variable: everything needed to make it again, and a digest to prove it.
variables_table = Table(
    "reprovar_variables",
    metadata,
    Column("id", ID_TYPE, primary_key=True, autoincrement=True),
    Column("run_id", ForeignKey("reprovar_runs.id"), nullable=False),
    Column("name", NAME_TYPE, nullable=False),
    Column("version", Integer, nullable=False),
    Column("shape", Text, nullable=False),  # JSON list, e.g. "[2, 3]"
    Column("dtype", String(32), nullable=False),
    Column("distribution", String(32), nullable=False),
    # The distribution's own parameters (reprovar.variable.DISTRIBUTION_PARAMETERS); a column
    # it does not have is NULL, and so is an infinite bound (revision 0003).
    *(Column(name, Double) for name in PARAMETER_COLUMNS),
    Column("seed", UInt64, nullable=False),
    # "user" (given by the caller) or "os" (seed=None); NULL: recorded before revision 0002.
    Column("seed_source", String(8)),
    Column("algorithm", String(64), nullable=False),
    Column("algorithm_version", Integer, nullable=False),
    Column("digest", String(128), nullable=False),  # "<scheme>:<hex>", see ledger.digest
    Column("nbytes", BigInteger, nullable=False),
    Column("created", UTCDateTime, nullable=False),
    # Digest over the row's fields and previous_seal (see ledger.seal); revision 0004.
    Column("seal", String(SEAL_LENGTH), nullable=False),
    # The seal of the previous version of the name; NULL for version 1.
    Column("previous_seal", String(SEAL_LENGTH)),
    # How the whole value is made beyond the draw (reprovar.recipes, JSON); NULL: the draw
    # alone. Revision 0007.
    Column("recipe", Text),
    UniqueConstraint("name", "version"),  # also the index for lookups by name
    Index("ix_reprovar_variables_seed", "seed"),
    Index("ix_reprovar_variables_created", "created"),
    Index("ix_reprovar_variables_run_id", "run_id"),
    **MYSQL_TABLE_ARGS,
)

#: A reprovar run linked to an experiment tracker's run (revision 0008): a run may be linked
#: to several tracker runs, and a link may be added after the run started. Each row is
#: sealed on its own (see :mod:`.links`).
links_table = Table(
    "reprovar_tracker_links",
    metadata,
    Column("id", ID_TYPE, primary_key=True, autoincrement=True),
    Column("run_id", ForeignKey("reprovar_runs.id"), nullable=False),
    Column("tracker", String(16), nullable=False),  # "mlflow" or "wandb"
    # MLflow: the run id; W&B: the run id within its project.
    Column("tracker_run_id", String(255), nullable=False),
    # MLflow: the experiment id; W&B: "entity/project".
    Column("experiment", String(255)),
    # MLflow: the tracking URI; W&B: the run's URL (None offline). Secrets masked.
    Column("url", Text),
    Column("linked", UTCDateTime, nullable=False),
    # The largest id of the run's variable rows when the link was made (NULL: none yet): the
    # rows the tracker run owns come after it, up to the next link to the same tracker.
    Column("after_variable_id", BigInteger),
    Column("seal", String(SEAL_LENGTH), nullable=False),
    UniqueConstraint("run_id", "tracker", "tracker_run_id"),
    Index("ix_reprovar_tracker_links_tracker_run", "tracker", "tracker_run_id"),
    **MYSQL_TABLE_ARGS,
)

#: PostgreSQL only (revision 0006; renamed by 0005): its name order follows the database's collation, which
#: may be linguistic and then cannot serve ``LIKE 'prefix%'``; ``varchar_pattern_ops`` orders
#: by bytes. SQLite and MariaDB order names by code point and serve prefixes from the
#: (name, version) unique index with a range.
NAME_PATTERN_INDEX = Index(
    "ix_reprovar_variables_name_pattern", variables_table.c.name, postgresql_ops={"name": "varchar_pattern_ops"}
).ddl_if(dialect="postgresql")
