"""Any distribution: ``low`` and ``high`` bounds beside ``mean`` and ``scale``, which may be NULL.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

A row stores the parameters its distribution has: normal ``mean``, ``scale``; uniform ``low``,
``high``; truncated normal all four. A column a distribution does not have is NULL, and so is
an infinite bound of a truncated normal (MariaDB's DOUBLE cannot hold infinity). Rows
recorded before this revision are normals: their ``mean`` and ``scale`` stay as they were.

Migrations must not import reprovar: they describe the schema as it was at this revision.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("variables") as batch:
        batch.alter_column("mean", existing_type=sa.Double(), nullable=True)
        batch.alter_column("scale", existing_type=sa.Double(), nullable=True)
        batch.add_column(sa.Column("low", sa.Double(), nullable=True))
        batch.add_column(sa.Column("high", sa.Double(), nullable=True))


def downgrade() -> None:
    # Only normals can be kept by the older schema: other rows would lose their parameters.
    bind = op.get_bind()
    others = bind.execute(sa.text("SELECT COUNT(*) FROM variables WHERE distribution <> 'normal'")).scalar()
    if others:
        raise RuntimeError(
            f"cannot downgrade below revision 0003: {others} variables are not normals and the "
            "older schema has no columns for their parameters"
        )
    with op.batch_alter_table("variables") as batch:
        batch.drop_column("high")
        batch.drop_column("low")
        batch.alter_column("scale", existing_type=sa.Double(), nullable=False)
        batch.alter_column("mean", existing_type=sa.Double(), nullable=False)
