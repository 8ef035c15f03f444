"""Row seals: every variable row gets ``seal`` (a digest over its fields and the previous
version's seal) and ``previous_seal``; existing rows are sealed here, version by version.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

Migrations must not import reprovar: the canonical form below is a frozen copy of
``reprovar.ledger.seal`` at this revision (a test checks that both seal a row alike). The key,
if the ledger is keyed, comes from the Alembic config attribute ``reprovar_seal_key`` (the
secret's bytes), which reprovar sets from the opening ledger's key.
"""

import datetime as dt
import hashlib
import hmac
import json

import sqlalchemy as sa
from alembic import context, op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SEAL_LENGTH = 128
CANONICAL_PREFIX = b"reprovar-row-seal-1\n"
UNKEYED = "rs1:sha256:"
KEYED = "rs1:hmac-sha256:"
PARAM_COLUMNS = ("mean", "scale", "low", "high")
SEALED_COLUMNS = ("name", "version", "shape", "dtype", "distribution", "seed", "seed_source",
                  "algorithm", "algorithm_version", "digest", "nbytes", "created", "run_id")
_UINT64 = 1 << 64
#: Rows updated per statement.
BATCH = 1000


def _value(value):
    if isinstance(value, float):
        return value.hex()
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value.isoformat("T", "microseconds") + "Z"
    return value


def _shape(value):
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        return parsed if isinstance(parsed, list) else value
    if isinstance(value, tuple):
        return list(value)
    return value


def _param(value):
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _seed(value):
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        return value + _UINT64
    return value


def canonical(row, previous_seal):
    fields = {name: _value(row[name]) for name in SEALED_COLUMNS}
    fields["shape"] = _shape(row["shape"])
    fields["seed"] = _seed(row["seed"])
    fields["params"] = {name: _value(_param(row.get(name))) for name in PARAM_COLUMNS}
    fields["previous_seal"] = previous_seal
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return CANONICAL_PREFIX + text.encode("ascii")


def compute_seal(row, previous_seal, secret):
    text = canonical(row, previous_seal)
    if secret is None:
        return UNKEYED + hashlib.sha256(text).hexdigest()
    key_id = hashlib.sha256(b"reprovar-key-id\n" + secret).hexdigest()[:16]
    return f"{KEYED}{key_id}:" + hmac.new(secret, text, hashlib.sha256).hexdigest()


def _created(value):
    # SQLite hands back text; MariaDB a naive UTC datetime; PostgreSQL an aware one.
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value  # a malformed row is sealed as it is; verify reports it
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value


def seal_rows(connection, secret):
    """Seal every variable row, each version chained to the one before it."""
    columns = ", ".join(("id",) + SEALED_COLUMNS + PARAM_COLUMNS)
    rows = connection.execute(sa.text(
        f"SELECT {columns} FROM variables ORDER BY name, version, id")).mappings().all()
    updates = []
    previous_name, previous_seal = None, None
    for row in rows:
        row = dict(row)
        row["created"] = _created(row["created"])
        if row["name"] != previous_name:
            previous_name, previous_seal = row["name"], None
        seal = compute_seal(row, previous_seal, secret)
        updates.append({"row_id": row["id"], "seal": seal, "previous_seal": previous_seal})
        previous_seal = seal
    statement = sa.text("UPDATE variables SET seal = :seal, previous_seal = :previous_seal "
                        "WHERE id = :row_id")
    for start in range(0, len(updates), BATCH):
        connection.execute(statement, updates[start:start + BATCH])


def upgrade() -> None:
    with op.batch_alter_table("variables") as batch:
        batch.add_column(sa.Column("seal", sa.String(SEAL_LENGTH), nullable=True))
        batch.add_column(sa.Column("previous_seal", sa.String(SEAL_LENGTH), nullable=True))
    seal_rows(op.get_bind(), context.config.attributes.get("reprovar_seal_key"))
    with op.batch_alter_table("variables") as batch:
        batch.alter_column("seal", existing_type=sa.String(SEAL_LENGTH), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("variables") as batch:
        batch.drop_column("previous_seal")
        batch.drop_column("seal")
