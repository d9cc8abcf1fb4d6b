"""/logs/: a task's logs (tabs), one log's window and download, a party's last lines."""

from django.urls import path

from logs import views

app_name = "logs"

urlpatterns = [  # the fixed prefix first: a connection may be called "log"
    path("log/<int:pk>/", views.log_view, name="view"),
    path("log/<int:pk>/download/", views.log_download, name="download"),
    path("<slug:connection>/<str:job_id>/<str:task_id>/", views.task_logs, name="task"),
    path(
        "<slug:connection>/<str:job_id>/<str:task_id>/party/<str:domain>/tail/",
        views.party_tail,
        name="tail",
    ),
]
