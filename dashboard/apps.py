from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The project as an app: its templates (base layout), health and metrics endpoints, and the
    hook that lets the framework-free Kuscia client report its requests to our metrics."""

    name = "dashboard"
    verbose_name = "Kuscia Console"

    def ready(self) -> None:
        from dashboard.metrics import observe_request
        from kuscia.client import set_default_observer

        set_default_observer(observe_request)
