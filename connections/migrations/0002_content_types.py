"""Move the content types (and so the admin group's permissions) of Connection, SyncState and
SyncLease from the `jobs` app label to `connections`, keeping every grant."""

from django.db import migrations

MODELS = ("connection", "syncstate", "synclease")


def forward(apps, schema_editor):
    _move(apps, "jobs", "connections")


def backward(apps, schema_editor):
    _move(apps, "connections", "jobs")


def _move(apps, old_label, new_label):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    for model in MODELS:
        old = ContentType.objects.filter(app_label=old_label, model=model).first()
        if old is None:
            continue
        new = ContentType.objects.filter(app_label=new_label, model=model).first()
        if new is None:
            old.app_label = new_label
            old.save(update_fields=["app_label"])
            continue
        # Both exist (permissions were created for the new label already): keep the new ones
        # and carry every group's and user's grant over from the old ones.
        for perm in Permission.objects.filter(content_type=old):
            twin = Permission.objects.filter(content_type=new, codename=perm.codename).first()
            if twin is None:
                perm.content_type = new
                perm.save(update_fields=["content_type"])
                continue
            for group in perm.group_set.all():
                group.permissions.add(twin)
            for user in perm.user_set.all():
                user.user_permissions.add(twin)
            perm.delete()
        old.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("connections", "0001_initial"),
        ("jobs", "0008_connections_move_out"),
        ("accounts", "0003_admin_group_permissions"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]
    operations = [migrations.RunPython(forward, backward)]
