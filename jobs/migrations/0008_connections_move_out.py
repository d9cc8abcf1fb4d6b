"""Connection, SyncState and SyncLease left for the connections app: state only, no table is
dropped or changed (see connections/migrations/0001_initial.py)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0003_alter_auditrecord_connection'),
        ('connections', '0001_initial'),
        ('jobs', '0007_job_refused'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='job',
                    name='connection',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='jobs', to='connections.connection'),
                ),
                migrations.RemoveField(
                    model_name='syncstate',
                    name='connection',
                ),
                migrations.DeleteModel(
                    name='SyncLease',
                ),
                migrations.DeleteModel(
                    name='Connection',
                ),
                migrations.DeleteModel(
                    name='SyncState',
                ),
    ],
            database_operations=[],
        ),
    ]
