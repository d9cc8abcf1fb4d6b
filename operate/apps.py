from django.apps import AppConfig


class OperateConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "operate"
    verbose_name = "Job operations"
