"""Alembic environment for reprovar ledgers.

reprovar always runs migrations in code (``reprovar.ledger.schema``), handing over an open
connection that already holds the ledger's migration lock; this file only configures the
context around it. It imports nothing from reprovar so that old revisions keep working
whatever the live models become.
"""

from alembic import context

VERSION_TABLE = "reprovar_schema_version"

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "reprovar migrations run through `reprovar db upgrade --ledger URL` "
        "(or reprovar.ledger.schema.upgrade), not the alembic command line"
    )

context.configure(
    connection=connection,
    target_metadata=None,
    version_table=VERSION_TABLE,
    # SQLite cannot ALTER most things in place: batch mode copies the table instead.
    render_as_batch=True,
    transaction_per_migration=False,
)

with context.begin_transaction():
    context.run_migrations()
