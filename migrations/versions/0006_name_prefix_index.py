"""PostgreSQL: an index on reprovar_variables.name that serves prefix patterns (``LIKE 'dense\\_%'``).

PostgreSQL compares names with the database's collation, which may be linguistic; a b-tree
in such an order cannot serve ``LIKE`` prefixes, so ``find --name 'dense_*'`` scanned the
table. ``varchar_pattern_ops`` orders by bytes, which is what a prefix search needs. SQLite
and MariaDB already serve prefixes from the (name, version) unique index with a range
(their name order is by code point): there this revision does nothing.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

Migrations must not import reprovar: they describe the schema as it was at this revision.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

INDEX = "ix_reprovar_variables_name_pattern"


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.create_index(INDEX, "reprovar_variables", ["name"], postgresql_ops={"name": "varchar_pattern_ops"})


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.drop_index(INDEX, table_name="reprovar_variables")
