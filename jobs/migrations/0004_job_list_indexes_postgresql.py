"""PostgreSQL-only indexes for the job list on large tables (100,000+ jobs).

* job id search (`job_id__icontains`, which Django writes as UPPER(job_id::text) LIKE
  UPPER('%q%')): a pg_trgm GIN index on exactly that expression;
* party filter (`parties @> '["alice"]'`): a GIN index on the jsonb column (jsonb_path_ops,
  which serves @> and is smaller than the default operator class);
* the list's sort orders, each with the id as tie-breaker, matching the keyset pagination of
  jobs.querysets (ORDER BY column, id in one direction; a btree is walked both ways).

SQLite (the default for `make run` and the unit tests) has no GIN, pg_trgm or jsonb: there the
operation does nothing. The indexes are not part of the model state (no Meta entry), so
makemigrations stays clean on both databases.
"""

from django.db import migrations

TABLE = "jobs_job"
# (name, definition after ON jobs_job)
INDEXES = [
    ("jobs_job_job_id_trgm", "USING gin ((upper((job_id)::text)) gin_trgm_ops)"),
    ("jobs_job_parties_gin", "USING gin (parties jsonb_path_ops)"),
    ("jobs_job_create_time_id", "(create_time, id)"),
    ("jobs_job_last_changed_id", "(last_changed, id)"),
    ("jobs_job_state_id", "(state, id)"),
    ("jobs_job_job_id_id", "(job_id, id)"),
    ("jobs_job_initiator_id", "(initiator, id)"),
    ("jobs_job_progress_id", "(progress, id)"),
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
    dependencies = [("jobs", "0003_job_status_hash")]

    operations = [
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
