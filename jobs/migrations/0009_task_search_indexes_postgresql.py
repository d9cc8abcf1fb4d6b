"""PostgreSQL-only indexes for the header search's task lookups (dashboard.search), which must
stay index ranges on a table of a million tasks:

* a task id prefix (`task_id LIKE 'q%'`, also an equality): a btree with varchar_pattern_ops,
  which serves LIKE prefixes under any collation (the default operator class does only under C);
* an alias, newest first (`alias = q ORDER BY id DESC`): a btree on (alias, id).

Built CONCURRENTLY (so the migration does not lock the task table against the sync engine's
writes while it builds), hence outside a transaction. SQLite: nothing to do; not model state.
"""

import importlib

from django.db import migrations

PostgresOnlySQL = importlib.import_module(
    "jobs.migrations.0004_job_list_indexes_postgresql"
).PostgresOnlySQL

TABLE = "jobs_task"
INDEXES = [
    ("jobs_task_task_id_prefix", "(task_id varchar_pattern_ops)"),
    ("jobs_task_alias_id", "(alias, id)"),
]


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("jobs", "0008_connections_move_out")]

    operations = [
        PostgresOnlySQL(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {TABLE} {definition}",
            reverse_sql=f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
        )
        for name, definition in INDEXES
    ]
