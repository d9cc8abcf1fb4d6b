"""Audit actions of alerts (channels, rules, provisioning, notify-me) and of domain data and grants."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0004_connection_check'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditrecord',
            name='action',
            field=models.CharField(choices=[('create', 'Create'), ('stop', 'Stop'), ('cancel', 'Cancel'), ('suspend', 'Suspend'), ('restart', 'Restart'), ('approve', 'Approve'), ('reject', 'Reject'), ('delete', 'Delete'), ('forget', 'Forget (local)'), ('track', 'Add by id'), ('connection_add', 'Add connection'), ('connection_edit', 'Edit connection'), ('connection_on', 'Enable connection'), ('connection_off', 'Disable connection'), ('connection_check', 'Check connection'), ('channel_add', 'Add alert channel'), ('channel_edit', 'Edit alert channel'), ('channel_delete', 'Delete alert channel'), ('channel_test', 'Test alert channel'), ('rule_add', 'Add alert rule'), ('rule_edit', 'Edit alert rule'), ('rule_delete', 'Delete alert rule'), ('alerts_file', 'Alerts provisioning file'), ('notify_on', 'Notify me when a job ends'), ('notify_off', 'Stop notifying me'), ('data_create', 'Register data'), ('data_update', 'Edit data'), ('data_delete', 'Delete data'), ('grant_create', 'Grant data'), ('grant_delete', 'Revoke data grant')], max_length=16),
        ),
    ]
