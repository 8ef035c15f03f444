"""Tracker links: ``reprovar_tracker_links``, one sealed row per (reprovar run, MLflow or W&B run).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

A new table only: no existing row changes, and there are no links to seal yet.
Migrations must not import reprovar: they describe the schema as it was at this revision.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLE = "reprovar_tracker_links"
SEAL_LENGTH = 128


def _utc_datetime():
    # The ledger's time type: microseconds on MariaDB too.
    return sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("tracker", sa.String(16), nullable=False),
        sa.Column("tracker_run_id", sa.String(255), nullable=False),
        sa.Column("experiment", sa.String(255)),
        sa.Column("url", sa.Text()),
        sa.Column("linked", _utc_datetime(), nullable=False),
        sa.Column("after_variable_id", sa.BigInteger()),
        sa.Column("seal", sa.String(SEAL_LENGTH), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["reprovar_runs.id"], name="fk_reprovar_tracker_links_run_id_reprovar_runs"),
        sa.PrimaryKeyConstraint("id", name="pk_reprovar_tracker_links"),
        sa.UniqueConstraint("run_id", "tracker", "tracker_run_id",
                            name="uq_reprovar_tracker_links_run_id_tracker_tracker_run_id"),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )
    op.create_index("ix_reprovar_tracker_links_tracker_run", TABLE, ["tracker", "tracker_run_id"])


def downgrade() -> None:
    op.drop_index("ix_reprovar_tracker_links_tracker_run", table_name=TABLE)
    op.drop_table(TABLE)
