"""Table names that cannot collide with another application's: ``runs`` becomes
``reprovar_runs`` and ``variables`` becomes ``reprovar_variables``, with their indexes,
constraints (and PostgreSQL sequences) renamed to match.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

A database can then hold a reprovar ledger beside other applications' tables (MLflow has a
``runs`` table of its own). The schema version already lives in ``reprovar_schema_version``,
not Alembic's default ``alembic_version``.

Migrations must not import reprovar: they describe the schema as it was at this revision.
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = {"runs": "reprovar_runs", "variables": "reprovar_variables"}
# (table after renaming, old index name, new index name, columns)
INDEXES = [
    ("reprovar_runs", "ix_runs_started", "ix_reprovar_runs_started", ["started"]),
    ("reprovar_variables", "ix_variables_seed", "ix_reprovar_variables_seed", ["seed"]),
    ("reprovar_variables", "ix_variables_created", "ix_reprovar_variables_created", ["created"]),
    ("reprovar_variables", "ix_variables_run_id", "ix_reprovar_variables_run_id", ["run_id"]),
]
OLD_FK, NEW_FK = "fk_variables_run_id_runs", "fk_reprovar_variables_run_id_reprovar_runs"
OLD_UQ, NEW_UQ = "uq_variables_name_version", "uq_reprovar_variables_name_version"


def _rename(old_tables, new_tables, indexes, fk, uq, pk_of) -> None:
    dialect = op.get_bind().dialect.name
    for old, new in zip(old_tables, new_tables):
        op.rename_table(old, new)
    runs, variables = new_tables
    (old_fk, new_fk), (old_uq, new_uq) = fk, uq
    if dialect == "postgresql":
        for table, old, new, _ in indexes:
            op.execute(f"ALTER INDEX {old} RENAME TO {new}")
        for old, new in zip(old_tables, new_tables):
            op.execute(f"ALTER TABLE {new} RENAME CONSTRAINT {pk_of(old)} TO {pk_of(new)}")
            op.execute(f"ALTER SEQUENCE IF EXISTS {old}_id_seq RENAME TO {new}_id_seq")
        op.execute(f"ALTER TABLE {variables} RENAME CONSTRAINT {old_uq} TO {new_uq}")
        op.execute(f"ALTER TABLE {variables} RENAME CONSTRAINT {old_fk} TO {new_fk}")
    elif dialect in ("mysql", "mariadb"):
        # Foreign key names are per database in MariaDB: drop and add it under its new name.
        op.drop_constraint(old_fk, variables, type_="foreignkey")
        for table, old, new, _ in indexes:
            op.execute(f"ALTER TABLE {table} RENAME INDEX {old} TO {new}")
        op.execute(f"ALTER TABLE {variables} RENAME INDEX {old_uq} TO {new_uq}")
        op.create_foreign_key(new_fk, variables, runs, ["run_id"], ["id"])
    else:
        # SQLite keeps constraint names in the table's CREATE text: rebuild the variables
        # table with the new names (the rename already pointed its foreign key at the runs
        # table's new name); index names are per database, so drop and create them.
        for table, old, new, columns in indexes:
            op.drop_index(old, table_name=table)
            op.create_index(new, table, columns)
        with op.batch_alter_table(variables, recreate="always") as batch:
            batch.drop_constraint(old_uq, type_="unique")
            batch.create_unique_constraint(new_uq, ["name", "version"])
            batch.drop_constraint(old_fk, type_="foreignkey")
            batch.create_foreign_key(new_fk, runs, ["run_id"], ["id"])


def upgrade() -> None:
    _rename(list(TABLES), list(TABLES.values()), INDEXES, (OLD_FK, NEW_FK), (OLD_UQ, NEW_UQ),
            lambda table: f"pk_{table}")


def downgrade() -> None:
    back = {new: old for old, new in TABLES.items()}
    indexes = [(back[table], new, old, columns) for table, old, new, columns in INDEXES]
    _rename(list(TABLES.values()), list(TABLES), indexes, (NEW_FK, OLD_FK), (NEW_UQ, OLD_UQ),
            lambda table: f"pk_{table}")
