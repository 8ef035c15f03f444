"""Recipes: a variable row may say how its whole value is made beyond its one draw.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

A model parameter's initial value is not always one draw: an Embedding's padding row is set
to zero after its normal draw, a norm layer's weight is a constant, a tied weight is another
parameter's value under a second name. ``recipe`` holds that description as JSON text (see
``reprovar.recipes``); it is NULL for a plain variable, whose value is its draw alone. Rows
with a recipe are sealed with the second canonical form, which covers the recipe too; rows
without one keep the first, so every existing seal stays valid.

Migrations must not import reprovar: they describe the schema as it was at this revision.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reprovar_variables") as batch:
        batch.add_column(sa.Column("recipe", sa.Text(), nullable=True))


def downgrade() -> None:
    # The older schema cannot say what a recipe says: refuse rather than make rows that
    # would replay to other values.
    bind = op.get_bind()
    with_recipe = bind.execute(
        sa.text("SELECT COUNT(*) FROM reprovar_variables WHERE recipe IS NOT NULL")
    ).scalar()
    if with_recipe:
        raise RuntimeError(
            f"cannot downgrade below revision 0007: {with_recipe} variables have recipes and "
            "the older schema has no column for them"
        )
    with op.batch_alter_table("reprovar_variables") as batch:
        batch.drop_column("recipe")
