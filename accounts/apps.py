from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = _("Accounts and roles")

    def ready(self) -> None:
        # One throttle for every way to sign in: the Django admin's login checks passwords too.
        from django.contrib import admin

        from accounts.forms import ThrottledAdminAuthenticationForm

        admin.site.login_form = ThrottledAdminAuthenticationForm
