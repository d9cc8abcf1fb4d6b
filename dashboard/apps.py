from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The project as an app: its templates (base layout), health and metrics endpoints, the
    hook that lets the framework-free Kuscia client report its requests to our metrics, the
    job history's reader of stored messages (jobs sits below dashboard.stored_texts), and the
    translation catalogues' compiling (after every migrate) and system check."""

    name = "dashboard"
    verbose_name = "Kuscia Console"

    def ready(self) -> None:
        from django.core import checks
        from django.db.models.signals import post_migrate

        from dashboard.catalogues import check_compiled, compile_after_migrate
        from dashboard.metrics import observe_request
        from dashboard.stored_texts import stored
        from jobs.templatetags.kc_detail import set_stored_message_reader
        from kuscia.client import set_default_observer

        set_default_observer(observe_request)
        set_stored_message_reader(stored)  # the job page's history, in the reader's language
        checks.register(check_compiled)
        post_migrate.connect(compile_after_migrate, dispatch_uid="dashboard.compile_catalogues")
