"""The audit row's connection now points at connections.Connection (same table). State only."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0002_connection_changes'),
        ('connections', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='auditrecord',
                    name='connection',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to='connections.connection'),
                ),
    ],
            database_operations=[],
        ),
    ]
