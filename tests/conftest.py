"""Shared fixtures: ledger isolation, and one fresh ledger database per test on each backend.

``ledger_url`` is parametrized over SQLite (a file in ``tmp_path``), PostgreSQL and MariaDB.
Server URLs come from ``REPROVAR_TEST_POSTGRES_URL`` and ``REPROVAR_TEST_MYSQL_URL``; each
test gets its own ``CREATE DATABASE`` (random name, dropped afterwards), so tests never see
each other's rows. Without a reachable server those params skip with the reason, unless
``REPROVAR_REQUIRE_SERVERS=1`` (CI), which turns an unreachable server into a failure.
"""

from __future__ import annotations

import os
import secrets
import sys

import pytest

# Keras reads its backend once, when first imported: the Keras adapter is tested on the torch
# backend (one framework serves both adapters), so this is set before any test imports keras.
os.environ["KERAS_BACKEND"] = "torch"

POSTGRES_ENV = "REPROVAR_TEST_POSTGRES_URL"
MYSQL_ENV = "REPROVAR_TEST_MYSQL_URL"
REQUIRE_ENV = "REPROVAR_REQUIRE_SERVERS"
DEFAULT_URLS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    "mysql": "mysql+pymysql://root@127.0.0.1:3306/test",
}
SERVER_ENVS = {"postgresql": POSTGRES_ENV, "mysql": MYSQL_ENV}
BACKENDS = ("sqlite", "postgresql", "mysql")
#: Test databases are named ``rpvtest_<pid>_<random>`` so stale ones can be recognized.
DB_PREFIX = "rpvtest_"


def servers_required() -> bool:
    return os.environ.get(REQUIRE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def _server_url(backend: str) -> str:
    return os.environ.get(SERVER_ENVS[backend]) or DEFAULT_URLS[backend]


class _Servers:
    """Probes each server once per session; creates and drops per-test databases."""

    def __init__(self):
        self._probed: dict[str, str | None] = {}  # backend -> None (ok) or why not
        self._engines = {}

    def admin_engine(self, backend: str):
        from sqlalchemy import create_engine

        if backend not in self._engines:
            connect_args = {"connect_timeout": 5}
            self._engines[backend] = create_engine(
                _server_url(backend), isolation_level="AUTOCOMMIT", connect_args=connect_args,
                pool_pre_ping=True,
            )
        return self._engines[backend]

    def problem(self, backend: str) -> str | None:
        if backend not in self._probed:
            self._probed[backend] = self._probe(backend)
        return self._probed[backend]

    def _probe(self, backend: str) -> str | None:
        from sqlalchemy import text

        url = _server_url(backend)
        shown = url.split("@")[-1]
        try:
            with self.admin_engine(backend).connect() as conn:
                conn.execute(text("SELECT 1"))
        except ImportError as e:
            return f"{backend} driver not installed ({e.name}); set {SERVER_ENVS[backend]}"
        except Exception as e:  # any connection failure: report it, skip or fail below
            first = str(getattr(e, "orig", None) or e).strip().splitlines()[0]
            return f"{backend} server at {shown} unreachable ({first}); set {SERVER_ENVS[backend]}"
        self._drop_stale(backend)
        return None

    def _drop_stale(self, backend: str) -> None:
        # Databases left by killed test sessions (their pid is gone).
        from sqlalchemy import text

        query = {
            "postgresql": "SELECT datname FROM pg_database WHERE datname LIKE 'rpvtest\\_%'",
            "mysql": "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'rpvtest\\_%'",
        }[backend]
        with self.admin_engine(backend).connect() as conn:
            for (name,) in conn.execute(text(query)):
                try:
                    pid = int(name.split("_")[1])
                except (IndexError, ValueError):
                    continue
                if not _pid_alive(pid):
                    self._drop(conn, backend, name)

    def create(self, backend: str) -> str:
        from sqlalchemy import text
        from sqlalchemy.engine import make_url

        name = f"{DB_PREFIX}{os.getpid()}_{secrets.token_hex(4)}"
        with self.admin_engine(backend).connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
            if backend == "postgresql":
                # Tests do not cover server crashes; an fsync per commit (~4 ms on CI VMs)
                # would dominate their run time. Only this throwaway database is affected.
                conn.execute(text(f"ALTER DATABASE {name} SET synchronous_commit = off"))
        url = make_url(_server_url(backend)).set(database=name)
        return url.render_as_string(hide_password=False)

    def drop(self, backend: str, url: str) -> None:
        from sqlalchemy.engine import make_url

        name = make_url(url).database
        with self.admin_engine(backend).connect() as conn:
            self._drop(conn, backend, name)

    @staticmethod
    def _drop(conn, backend: str, name: str) -> None:
        from sqlalchemy import text

        if backend == "postgresql":
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        else:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))

    def close(self) -> None:
        for engine in self._engines.values():
            engine.dispose()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture(scope="session")
def database_servers():
    """The session's probe of the PostgreSQL and MariaDB test servers."""
    servers = _Servers()
    yield servers
    servers.close()


def _server_database(request, backend: str):
    servers = request.getfixturevalue("database_servers")
    problem = servers.problem(backend)
    if problem is not None:
        if servers_required():
            pytest.fail(f"{REQUIRE_ENV}=1 but {problem}", pytrace=False)
        pytest.skip(problem)
    return servers


@pytest.fixture(params=BACKENDS)
def ledger_url(request, tmp_path):
    """A URL for an empty, private ledger database on each backend (SQLite, PostgreSQL, MariaDB)."""
    backend = request.param
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        _forget_ledgers()
        return
    servers = _server_database(request, backend)
    url = servers.create(backend)
    try:
        yield url
    finally:
        _forget_ledgers()
        servers.drop(backend, url)


@pytest.fixture
def ledger(ledger_url):
    """A :class:`reprovar.Ledger` on each backend, closed after the test."""
    from reprovar import Ledger

    led = Ledger(ledger_url)
    yield led
    led.close()


def _forget_ledgers() -> None:
    # Close what the recorder opened so the test database can be dropped.
    recording = sys.modules.get("reprovar.recorder")
    if recording is not None:
        recording.forget_ledgers()


@pytest.fixture(autouse=True)
def _isolated_ledger_state(tmp_path, monkeypatch):
    """No test writes the developer's ``./reprovar.db`` or leaks recording switches."""
    monkeypatch.setenv("REPROVAR_LEDGER", str(tmp_path / "reprovar.db"))
    monkeypatch.delenv("REPROVAR_RECORD", raising=False)
    yield
    recording = sys.modules.get("reprovar.recorder")
    if recording is not None:
        recording.forget_ledgers()
        recording._process_setting = None


#: Read-only test accounts are named ``rpvtest_ro_<pid>_<random>``, like the test databases.
READER_PREFIX = "rpvtest_ro_"


@pytest.fixture
def reader_url(request, ledger):
    """A URL for ``ledger`` through a read-only account, made as docs/sql.md's recipe says
    (SQLite: the ledger's own URL; file permissions are its accounts). Dropped afterwards."""
    backend = ledger.engine.dialect.name
    url = ledger.url
    if backend == "sqlite":
        yield url.render_as_string(hide_password=False)
        return
    from sqlalchemy import text

    admin = request.getfixturevalue("database_servers").admin_engine(backend)
    _drop_stale_readers(admin, backend)
    account = f"{READER_PREFIX}{os.getpid()}_{secrets.token_hex(4)}"
    database = url.database
    if backend == "postgresql":
        with admin.connect() as c:
            c.execute(text(f"CREATE ROLE {account} LOGIN"))
        with ledger.engine.begin() as c:  # grants live in the ledger's database
            c.execute(text(f"GRANT CONNECT ON DATABASE {database} TO {account}"))
            c.execute(text(f"GRANT USAGE ON SCHEMA public TO {account}"))
            c.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {account}"))
    else:
        with admin.connect() as c:
            c.execute(text(f"CREATE USER '{account}'@'%'"))
            c.execute(text(f"GRANT SELECT ON {database}.* TO '{account}'@'%'"))
    try:
        yield url.set(username=account, password=None).render_as_string(hide_password=False)
    finally:
        _drop_reader(admin, ledger.engine, backend, account)


def _drop_reader(admin, engine, backend: str, account: str) -> None:
    from sqlalchemy import text

    if backend == "postgresql":
        if engine is not None:
            with engine.begin() as c:
                c.execute(text(f"DROP OWNED BY {account}"))
        with admin.connect() as c:
            c.execute(text(f"DROP ROLE IF EXISTS {account}"))
    else:
        with admin.connect() as c:
            c.execute(text(f"DROP USER IF EXISTS '{account}'@'%'"))


def _drop_stale_readers(admin, backend: str) -> None:
    # Accounts left by killed test sessions (their pid is gone). A PostgreSQL role's grants
    # died with its test database.
    from sqlalchemy import text

    query = {
        "postgresql": "SELECT rolname FROM pg_roles WHERE rolname LIKE 'rpvtest\\_ro\\_%'",
        "mysql": "SELECT user FROM mysql.user WHERE user LIKE 'rpvtest\\_ro\\_%'",
    }[backend]
    with admin.connect() as c:
        names = [r[0] for r in c.execute(text(query))]
    for name in names:
        try:
            pid = int(name[len(READER_PREFIX):].split("_")[0])
        except ValueError:
            continue
        if not _pid_alive(pid):
            try:
                _drop_reader(admin, None, backend, name)
            except Exception:  # still owning something in a live database: leave it
                pass


@pytest.fixture
def tamper(ledger):
    """``tamper(record_id, reseal=False, **values)``: edit a variable row behind reprovar's back.

    With ``reseal=True`` the row's seal is recomputed without a key afterwards, as someone who
    can edit the database (and read reprovar's source) can do for unkeyed seals.
    """
    from sqlalchemy import update

    from reprovar.ledger.models import variables_table as t
    from reprovar.ledger.seal import compute_seal

    def tamper(record_id, reseal=False, **values):
        with ledger.engine.begin() as c:
            if values:
                c.execute(update(t).where(t.c.id == record_id).values(**values))
        if reseal:
            record = ledger.get(id=record_id)
            seal = compute_seal(record.__dict__, record.previous_seal, None)
            with ledger.engine.begin() as c:
                c.execute(update(t).where(t.c.id == record_id).values(seal=seal))

    return tamper


@pytest.fixture(scope="session")
def docs_html(tmp_path_factory):
    """The Sphinx site, built once per session with warnings as errors; its HTML folder."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = tmp_path_factory.mktemp("docs")
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
           "-d", str(out / "doctrees"), str(root / "docs"), str(out / "html")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPROVAR_")}
    done = subprocess.run(cmd, cwd=out, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"sphinx-build -W failed:\n{done.stdout[-4000:]}{done.stderr[-8000:]}"
    return out / "html"
