"""Connection, SyncState and SyncLease move here from jobs (the layout split). State only:
the tables keep their names (jobs_connection, jobs_syncstate, jobs_synclease) and every row."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('jobs', '0007_job_refused'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Connection',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.SlugField(max_length=64, unique=True)),
                        ('url', models.CharField(help_text='e.g. https://127.0.0.1:8082', max_length=255)),
                        ('protocol', models.CharField(choices=[('MTLS', 'Mtls'), ('TLS', 'Tls'), ('NOTLS', 'Notls')], default='MTLS', max_length=8)),
                        ('cert_dir', models.CharField(blank=True, max_length=500)),
                        ('ca_file', models.CharField(blank=True, max_length=500)),
                        ('cert_file', models.CharField(blank=True, max_length=500)),
                        ('key_file', models.CharField(blank=True, max_length=500)),
                        ('token_file', models.CharField(blank=True, max_length=500)),
                        ('tls_server_name', models.CharField(blank=True, max_length=255)),
                        ('mode', models.CharField(choices=[('centralized', 'Centralized (master)'), ('lite', 'Lite node'), ('p2p', 'P2P (autonomy node)')], default='centralized', max_length=16)),
                        ('local_domain', models.CharField(blank=True, max_length=63)),
                        ('enabled', models.BooleanField(default=True)),
                        ('is_default', models.BooleanField(default=False, help_text='Created from the KUSCIA_* environment variables.')),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                    ],
                    options={
                        'db_table': 'jobs_connection',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='SyncLease',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100, unique=True)),
                        ('owner', models.CharField(blank=True, max_length=100)),
                        ('expires_at', models.DateTimeField(blank=True, null=True)),
                    ],
                    options={
                        'db_table': 'jobs_synclease',
                    },
                ),
                migrations.CreateModel(
                    name='SyncState',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('last_attempt', models.DateTimeField(blank=True, null=True)),
                        ('last_success', models.DateTimeField(blank=True, null=True)),
                        ('last_error_kind', models.CharField(blank=True, max_length=64)),
                        ('last_error_message', models.TextField(blank=True)),
                        ('last_error_hint', models.TextField(blank=True)),
                        ('last_error_at', models.DateTimeField(blank=True, null=True)),
                        ('consecutive_failures', models.PositiveIntegerField(default=0)),
                        ('next_attempt', models.DateTimeField(blank=True, null=True)),
                        ('watch_connected_since', models.DateTimeField(blank=True, null=True)),
                        ('watch_last_event', models.DateTimeField(blank=True, null=True)),
                        ('watch_last_error', models.TextField(blank=True)),
                        ('last_slow_poll', models.DateTimeField(blank=True, null=True)),
                        ('last_cycle', models.JSONField(blank=True, default=dict)),
                        ('connection', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='sync', to='connections.connection')),
                    ],
                    options={
                        'db_table': 'jobs_syncstate',
                    },
                ),
    ],
            database_operations=[],
        ),
    ]
