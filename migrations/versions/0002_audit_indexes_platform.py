"""Indexes for audit lookups (seed, creation time, run, run start), the run's platform, and
where each variable's seed came from (``seed_source``).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

Migrations must not import reprovar: they describe the schema as it was at this revision.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("platform", sa.String(255), nullable=True))
    op.create_index("ix_runs_started", "runs", ["started"])
    op.create_index("ix_variables_seed", "variables", ["seed"])
    op.create_index("ix_variables_created", "variables", ["created"])
    op.create_index("ix_variables_run_id", "variables", ["run_id"])
    # "user" or "os" (seed=None); NULL for rows recorded before this revision.
    with op.batch_alter_table("variables") as batch:
        batch.add_column(sa.Column("seed_source", sa.String(8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("variables") as batch:
        batch.drop_column("seed_source")
    op.drop_index("ix_variables_run_id", table_name="variables")
    op.drop_index("ix_variables_created", table_name="variables")
    op.drop_index("ix_variables_seed", table_name="variables")
    op.drop_index("ix_runs_started", table_name="runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("platform")

