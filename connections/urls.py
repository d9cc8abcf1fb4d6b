"""/connections/: list with sync health, add/edit/disable (admins), connection check."""

from django.urls import path

from connections import views

app_name = "connections"

urlpatterns = [
    path("", views.connection_list, name="list"),
    path("new/", views.connection_add, name="add"),
    path("<slug:name>/edit/", views.connection_edit, name="edit"),
    path("<slug:name>/toggle/", views.connection_toggle, name="toggle"),
    path("<slug:name>/check/", views.connection_check, name="check"),
]
