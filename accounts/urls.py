"""Sign-in, sign-out and password change at /accounts/ (url names as Django's auth urls); the
language switcher and the preferences page."""

from django.contrib.auth import views as auth_views
from django.urls import path

from accounts.views import LoginView, preferences, set_language

urlpatterns = [
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("language/", set_language, name="set_language"),
    path("preferences/", preferences, name="preferences"),
]
