"""The ledger's tables as typed SQLAlchemy 2.0 models: one row per run, one per variable.

These models describe the schema at head; the Alembic migrations in ``reprovar._migrations``
create it (a test checks that both agree on every backend). The hot write path uses the
models' Core tables (``VariableModel.__table__``), not ORM sessions, to keep recording cheap.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

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

#: SQLite only auto-increments an ``INTEGER PRIMARY KEY``.
ID_TYPE = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class RunModel(Base):
    """A process that recorded variables: where, when, by whom, with which software."""

    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_started", "started"), MYSQL_TABLE_ARGS)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started: Mapped[datetime] = mapped_column(UTCDateTime)
    host: Mapped[str] = mapped_column(String(255))
    user: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    argv: Mapped[str] = mapped_column(Text)  # JSON list of strings
    cwd: Mapped[str] = mapped_column(Text)
    git_commit: Mapped[str | None] = mapped_column(String(64))
    python_version: Mapped[str] = mapped_column(String(64))
    reprovar_version: Mapped[str] = mapped_column(String(64))
    numpy_version: Mapped[str] = mapped_column(String(64))
    numba_version: Mapped[str] = mapped_column(String(64))
    platform: Mapped[str | None] = mapped_column(String(255))  # added by revision 0002

    variables: Mapped[list[VariableModel]] = relationship(back_populates="run")


class VariableModel(Base):
    """A created variable: everything needed to make it again, and a digest to prove it."""

    __tablename__ = "variables"
    __table_args__ = (
        UniqueConstraint("name", "version"),  # also the index for lookups by name
        Index("ix_variables_seed", "seed"),
        Index("ix_variables_created", "created"),
        Index("ix_variables_run_id", "run_id"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    name: Mapped[str] = mapped_column(NAME_TYPE)
    version: Mapped[int] = mapped_column(Integer)
    shape: Mapped[str] = mapped_column(Text)  # JSON list, e.g. "[2, 3]"
    dtype: Mapped[str] = mapped_column(String(32))
    distribution: Mapped[str] = mapped_column(String(32))
    mean: Mapped[float] = mapped_column(Double)
    scale: Mapped[float] = mapped_column(Double)
    seed: Mapped[int] = mapped_column(UInt64)
    #: "user" (given by the caller) or "os" (seed=None); NULL: recorded before revision 0002.
    seed_source: Mapped[str | None] = mapped_column(String(8))
    algorithm: Mapped[str] = mapped_column(String(64))
    algorithm_version: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(128))  # "<scheme>:<hex>", see ledger.digest
    nbytes: Mapped[int] = mapped_column(BigInteger)
    created: Mapped[datetime] = mapped_column(UTCDateTime)

    run: Mapped[RunModel] = relationship(back_populates="variables")


runs_table = RunModel.__table__
variables_table = VariableModel.__table__
