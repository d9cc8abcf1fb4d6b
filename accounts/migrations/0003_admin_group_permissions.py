"""The admin role manages users and Kuscia connections in Django admin: give the `admin` group
the model permissions for users, groups and connections (and read access to the audit log)."""

from django.db import migrations

ADMIN_PERMISSIONS = {
    ("auth", "user"): ("add", "change", "delete", "view"),
    ("auth", "group"): ("view",),
    ("jobs", "connection"): ("add", "change", "delete", "view"),
    ("audit", "auditrecord"): ("view",),
}


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    admin, _ = Group.objects.get_or_create(name="admin")
    for (app_label, model), actions in ADMIN_PERMISSIONS.items():
        codenames = [f"{action}_{model}" for action in actions]
        admin.permissions.add(
            *Permission.objects.filter(
                content_type__app_label=app_label, codename__in=codenames
            )
        )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name="admin"):
        group.permissions.clear()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_login_failures"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("jobs", "0001_initial"),
        ("audit", "0001_initial"),
    ]
    operations = [migrations.RunPython(grant, revoke)]
