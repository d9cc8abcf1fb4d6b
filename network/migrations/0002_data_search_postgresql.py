"""The /data/ filter's stored choices (NetworkSync.data_facets), and PostgreSQL-only trigram
indexes for the /data/ search.

`icontains` is written by Django as UPPER(col::text) LIKE UPPER('%q%'): a pg_trgm GIN index on
exactly that expression serves it, for the data id, the name and the path. SQLite (the default
for `make run` and the unit tests) has no GIN or pg_trgm: there the SQL does nothing. The
indexes are not part of the model state (no Meta entry), so makemigrations stays clean.
"""

from django.db import migrations, models

TABLE = "network_dataitem"
INDEXES = [
    (f"network_data_{column}_trgm", f"USING gin ((upper(({column})::text)) gin_trgm_ops)")
    for column in ("domaindata_id", "name", "relative_uri")
]


class PostgresOnlySQL(migrations.RunSQL):
    """RunSQL that runs on PostgreSQL only (a no-op on every other database)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self) -> str:
        return "PostgreSQL only: " + super().describe()


class Migration(migrations.Migration):
    dependencies = [("network", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="networksync",
            name="data_facets",
            field=models.JSONField(blank=True, default=dict),
        ),
        # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
        PostgresOnlySQL(
            "CREATE EXTENSION IF NOT EXISTS pg_trgm",
            reverse_sql=migrations.RunSQL.noop,  # other objects may use the extension: keep it
        ),
        *(
            PostgresOnlySQL(
                f"CREATE INDEX IF NOT EXISTS {name} ON {TABLE} {definition}",
                reverse_sql=f"DROP INDEX IF EXISTS {name}",
            )
            for name, definition in INDEXES
        ),
    ]
