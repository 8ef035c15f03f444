"""First ledger schema: runs and variables, one version per name.

Revision ID: 0001
Revises:
Create Date: 2026-11-29

Migrations must not import reprovar: they describe the schema as it was at this revision.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

MYSQL_TABLE = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def _utc_datetime():
    return sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("started", _utc_datetime(), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("user", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("argv", sa.Text(), nullable=False),
        sa.Column("cwd", sa.Text(), nullable=False),
        sa.Column("git_commit", sa.String(64), nullable=True),
        sa.Column("python_version", sa.String(64), nullable=False),
        sa.Column("reprovar_version", sa.String(64), nullable=False),
        sa.Column("numpy_version", sa.String(64), nullable=False),
        sa.Column("numba_version", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
        **MYSQL_TABLE,
    )
    op.create_table(
        "variables",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column(
            "name",
            sa.String(255).with_variant(
                mysql.VARCHAR(255, charset="utf8mb4", collation="utf8mb4_nopad_bin"), "mysql", "mariadb"
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("shape", sa.Text(), nullable=False),
        sa.Column("dtype", sa.String(32), nullable=False),
        sa.Column("distribution", sa.String(32), nullable=False),
        sa.Column("mean", sa.Double(), nullable=False),
        sa.Column("scale", sa.Double(), nullable=False),
        # Unsigned 64-bit seed stored as the signed BIGINT with the same bits.
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("algorithm", sa.String(64), nullable=False),
        sa.Column("algorithm_version", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(128), nullable=False),
        sa.Column("nbytes", sa.BigInteger(), nullable=False),
        sa.Column("created", _utc_datetime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_variables"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_variables_run_id_runs"),
        sa.UniqueConstraint("name", "version", name="uq_variables_name_version"),
        **MYSQL_TABLE,
    )


def downgrade() -> None:
    op.drop_table("variables")
    op.drop_table("runs")
