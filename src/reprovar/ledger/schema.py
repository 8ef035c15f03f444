"""Schema versioning: create a new ledger at head, upgrade an old one, refuse a newer one.

The Alembic configuration is built here, in code, with the absolute location of the
migrations shipped inside the package (``reprovar._migrations``), so an installed wheel can
create and upgrade ledgers. Opening a ledger that is already at head needs no Alembic: the
revision is read with plain SQL from the version table, and the known revisions come from
the ``revision``/``down_revision`` assignments of the migration files (parsed, not
imported). Alembic is imported only to migrate.

Several processes opening the same new ledger at once take a lock, recheck the revision and
only then migrate:

* SQLite: the migration runs inside one ``BEGIN IMMEDIATE`` transaction (SQLite DDL is
  transactional), so the database's own write lock serializes migrators;
* PostgreSQL: one transaction holding ``pg_advisory_xact_lock``;
* MariaDB: DDL commits implicitly, so a named lock (``GET_LOCK``) per database is held
  around the recheck and the migration.
"""

from __future__ import annotations

import ast
import importlib.util
import sqlite3
import zlib
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from ..errors import LedgerError, LedgerTooNewError, NotALedgerError
from .engine import WRITE
from .models import metadata

if TYPE_CHECKING:
    from alembic.config import Config

#: Where the schema revision is kept (not Alembic's default, to stay clear of other apps).
VERSION_TABLE = "reprovar_schema_version"
#: The tables a ledger at head holds besides :data:`VERSION_TABLE`.
OWN_TABLES = ("reprovar_runs", "reprovar_variables", "reprovar_tracker_links")
#: Seconds a MariaDB migrator waits for another one to finish.
MIGRATION_LOCK_TIMEOUT_S = 300


@lru_cache(maxsize=1)
def migrations_dir() -> Path:
    """The directory holding ``env.py`` and ``versions/``: the installed package, else the checkout.

    Example:
        >>> (migrations_dir() / "env.py").is_file()
        True
    """
    spec = importlib.util.find_spec("reprovar._migrations")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            if (Path(location) / "env.py").is_file():
                return Path(location).resolve()
    # A source checkout whose editable install predates the package mapping.
    checkout = Path(__file__).resolve().parents[3] / "migrations"
    if (checkout / "env.py").is_file():
        return checkout
    raise LedgerError("reprovar's migrations are missing from this installation; reinstall reprovar")


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for reprovar's migrations, optionally bound to an open connection.

    Revision 0004 seals the rows it finds with the key in the ``reprovar_seal_key``
    attribute; it is always None here. A migration cannot know who wrote the rows it seals
    (someone without the key may have changed them below that revision), so its seals are
    unkeyed, and a keyed ``verify`` does not trust them until the key holder vouches for
    them (:mod:`reprovar.ledger.vouch`).
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["connection"] = connection
    config.attributes["reprovar_seal_key"] = None
    return config


@lru_cache(maxsize=1)
def revision_graph() -> dict[str, tuple[str, ...]]:
    """Each revision in the migrations and the revisions it follows (empty for the first).

    Read from the module-level ``revision = ...`` and ``down_revision = ...`` literals of
    ``versions/*.py``, the two names Alembic itself reads, without importing the files.

    Example:
        >>> revision_graph()["0002"]
        ('0001',)
    """
    graph: dict[str, tuple[str, ...]] = {}
    for path in sorted((migrations_dir() / "versions").glob("*.py")):
        found = {}
        for node in ast.parse(path.read_text(encoding="utf-8"), str(path)).body:
            target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else (
                node.target if isinstance(node, ast.AnnAssign) and node.value is not None else None
            )
            if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                found[target.id] = ast.literal_eval(node.value)
        if "revision" not in found:
            continue  # not a revision (a helper module)
        down = found.get("down_revision")
        graph[found["revision"]] = () if down is None else (down,) if isinstance(down, str) else tuple(down)
    return graph


def head_revision() -> str:
    """The newest schema revision this reprovar knows.

    Example:
        >>> head_revision() in revision_graph() and head_revision() not in sum(revision_graph().values(), ())
        True
    """
    graph = revision_graph()
    heads = set(graph) - {down for downs in graph.values() for down in downs}
    if len(heads) != 1:
        raise LedgerError(
            f"reprovar's migrations have {len(heads)} heads ({', '.join(sorted(heads)) or 'none'}), "
            "not one; reinstall reprovar"
        )
    return heads.pop()


#: The revision that seals the rows it finds (always without a key; see :func:`alembic_config`).
SEALING_REVISION = "0004"


def upgrade_runs(before: str | None, revision: str) -> bool:
    """Whether upgrading a ledger at ``before`` to head runs ``revision`` (a new ledger,
    ``before`` None, is created at head and runs none).

    Example:
        >>> upgrade_runs("0003", SEALING_REVISION), upgrade_runs(head_revision(), SEALING_REVISION)
        (True, False)
    """
    if before is None:
        return False
    graph, pending, seen = revision_graph(), [head_revision()], set()
    while pending:
        current = pending.pop()
        if current == before or current in seen:
            continue
        seen.add(current)
        if current == revision:
            return True
        pending.extend(graph.get(current, ()))
    return False


def known_revisions() -> set[str]:
    """Every revision this reprovar's migrations contain.

    Example:
        >>> sorted(known_revisions())[:2]
        ['0001', '0002']
    """
    return set(revision_graph())


def current_revision(connection: Connection) -> str | None:
    """The ledger's schema revision, or None for an empty database (no version table or row).

    Example:
        >>> from sqlalchemy import create_engine
        >>> with create_engine("sqlite://").connect() as connection:
        ...     current_revision(connection) is None
        True
    """
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(rows) > 1:
        raise LedgerError(f"the ledger's {VERSION_TABLE} table has {len(rows)} rows; it should have one")
    return rows[0] if rows else None


def _check_not_newer(revision: str | None, where: str) -> None:
    if revision is not None and revision not in known_revisions():
        from .. import __version__

        raise LedgerTooNewError(
            f"ledger {where} has schema revision {revision!r}, newer than this reprovar "
            f"{__version__} knows (head {head_revision()!r}): upgrade reprovar to use it"
        )


def identify(connection: Connection, where: str, *, share: bool = False) -> str | None:
    """The schema revision of the reprovar ledger behind ``connection``, or None when the
    database is empty (or, with ``share``, holds only other applications' tables, none of
    them named like reprovar's); anything else raises
    :class:`~reprovar.errors.NotALedgerError`.

    Only reads: nothing in a database that is not reprovar's is ever changed.

    Example:
        >>> import sqlalchemy as sa
        >>> engine = sa.create_engine("sqlite://")
        >>> with engine.begin() as c:
        ...     identify(c, "mem") is None
        True
        >>> with engine.begin() as c:
        ...     _ = c.exec_driver_sql("CREATE TABLE runs (x)")
        ...     identify(c, "mem")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        reprovar.errors.NotALedgerError: mem is not a reprovar ledger: it holds other tables (runs) and no reprovar_schema_version table; reprovar changed nothing in it (...)
    """
    revision = current_revision(connection)
    if revision is not None:
        return revision
    inspector = inspect(connection)
    tables = set(inspector.get_table_names())
    if VERSION_TABLE in tables:
        return None  # reprovar's, stopped before its first revision was recorded
    found = sorted(tables | set(inspector.get_view_names()))
    if not found:
        return None
    taken = sorted(set(found) & set(OWN_TABLES))
    if share and not taken:
        return None
    shown = ", ".join(found[:8]) + (f" and {len(found) - 8} more" if len(found) > 8 else "")
    if taken:
        how = f"it already has tables named like reprovar's ({', '.join(taken)})"
    else:
        how = ("to create the ledger beside them, run `reprovar db upgrade --share "
               f"--ledger {where}` (Ledger(..., share=True))")
    raise NotALedgerError(
        f"{where} is not a reprovar ledger: it holds other tables ({shown}) and no "
        f"{VERSION_TABLE} table; reprovar changed nothing in it ({how})"
    )


def ensure_schema(
    engine: Engine, where: str, *, upgrade: bool = True, create: bool = True,
    read_only: bool = False, share: bool = False,
) -> tuple[str | None, str]:
    """Bring the ledger behind ``engine`` to head; return (revision before, revision after).

    The database is identified first (:func:`identify`): only an empty one or a reprovar
    ledger is ever changed. A ledger already at head costs one read; anything else takes the
    migration lock, rechecks (another process may have migrated meanwhile) and upgrades.
    ``read_only``: never change anything; an out-of-date ledger is refused with the
    command that upgrades it. ``share``: a new ledger may be created in a database that
    holds other applications' tables (they are left alone).

    A new ledger is created from the models and stamped at head (the migrations would
    first create tables under their old names, which may belong to someone else).
    """
    with engine.connect() as connection:
        try:
            before = identify(connection, where, share=share and not read_only)
        except NotALedgerError:
            # MariaDB commits DDL at once: another process may be creating the ledger right
            # now (its tables there, its version row not yet). Decide under the lock.
            mariadb = engine.dialect.name in ("mysql", "mariadb")
            if read_only or not create or not mariadb or not _has_own_tables(connection):
                raise
            before = None
    _check_not_newer(before, where)
    if read_only:
        create = upgrade = False
    head = head_revision()
    if before == head:
        if not read_only:
            _use_wal(engine)
        return before, head
    if before is None and not create:
        raise LedgerError(f"no reprovar ledger in {where}: it has no ledger schema")
    if not upgrade:
        raise LedgerError(
            f"ledger {where} is at schema revision {before!r}, not {head!r}: "
            f"run `reprovar db upgrade --ledger {where}`"
        )
    _use_wal(engine)
    with _migration_lock(engine) as connection:
        # Recheck under the lock: another process may have migrated meanwhile.
        before = identify(connection, where, share=share)
        _check_not_newer(before, where)
        if before != head:
            from alembic import command

            config = alembic_config(connection)
            if before is None:
                metadata.create_all(connection)
                command.stamp(config, "head")
            else:
                command.upgrade(config, "head")
    return before, head


def _has_own_tables(connection: Connection) -> bool:
    tables = set(inspect(connection).get_table_names())
    return bool(tables & set(OWN_TABLES))


def _use_wal(engine: Engine) -> None:
    """Switch a SQLite ledger file to WAL (kept in the file; a no-op once done)."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return
    connection = engine.raw_connection()
    try:
        driver = connection.driver_connection
        if driver.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            try:
                driver.execute("PRAGMA journal_mode = WAL")
            except sqlite3.OperationalError:
                pass  # a read-only file keeps its journal mode; reading still works
    finally:
        connection.close()


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection]:
    dialect = engine.dialect.name
    with engine.connect() as connection:
        if dialect == "sqlite":
            connection = connection.execution_options(**WRITE)
            with connection.begin():
                yield connection
        elif dialect == "postgresql":
            with connection.begin():
                key = zlib.crc32(b"reprovar-migrate")
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
                yield connection
        elif dialect in ("mysql", "mariadb"):
            # Named locks are server-wide: scope the name to this database.
            database = connection.execute(text("SELECT DATABASE()")).scalar_one()
            name = f"reprovar-migrate:{database}"[:64]
            got = connection.execute(
                text("SELECT GET_LOCK(:n, :t)"), {"n": name, "t": MIGRATION_LOCK_TIMEOUT_S}
            ).scalar_one()
            connection.commit()
            if got != 1:
                raise LedgerError(
                    f"timed out after {MIGRATION_LOCK_TIMEOUT_S}s waiting for another process "
                    "to finish migrating the ledger"
                )
            try:
                with connection.begin():
                    yield connection
            finally:
                connection.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": name})
                connection.commit()
        else:  # other backends: transactional DDL is the best we can do
            with connection.begin():
                yield connection
