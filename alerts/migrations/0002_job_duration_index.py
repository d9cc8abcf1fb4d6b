"""An index on jobs_job for the alerts sweep's duration rules ("Pending / awaiting approval /
Running since before now - N minutes"): (state, last_changed, id) over the jobs not gone, so the
sweep reads the matching job ids from the index alone (an index-only scan on PostgreSQL) instead
of visiting every active job's row, whose raw Kuscia reply makes it wide.

Created here, next to its only reader (alerts.rules), with plain SQL that PostgreSQL and SQLite
both accept; it is not part of the jobs model state, so makemigrations stays clean.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("alerts", "0001_initial"), ("jobs", "0008_connections_move_out")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS alerts_job_waiting ON jobs_job (state, last_changed, id) "
            "WHERE gone_at IS NULL",
            "DROP INDEX IF EXISTS alerts_job_waiting",
        )
    ]
