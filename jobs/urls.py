from django.urls import path

from jobs import views

app_name = "jobs"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("jobs/", views.job_list, name="list"),
    path("sync-status/", views.sync_status, name="sync_status"),
    path("jobs/<slug:connection>/<str:job_id>/", views.job_detail, name="detail"),
    path("jobs/<slug:connection>/<str:job_id>/live/", views.job_live, name="detail_live"),
    path("jobs/<slug:connection>/<str:job_id>/history/", views.job_history, name="detail_history"),
    path("jobs/<slug:connection>/<str:job_id>/raw/", views.job_raw, name="detail_raw"),
    path(
        "jobs/<slug:connection>/<str:job_id>/endpoints/",
        views.job_endpoints,
        name="detail_endpoints",
    ),
    path(
        "jobs/<slug:connection>/<str:job_id>/tasks/<str:task_id>/", views.task_detail, name="task"
    ),
]
