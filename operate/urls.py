"""URLs of the pages that change things (namespace `jobs-actions`), included at /jobs/ BEFORE
the monitoring pages so /jobs/new/ is never read as a connection called "new"."""

from django.urls import path

from operate import views as v

app_name = "jobs-actions"

urlpatterns = [
    path("new/", v.create, name="create"),
    path("new/paste/", v.paste, name="paste"),
    path("new/task/", v.task_row, name="task-row"),
    path("new/party/", v.party_row, name="party-row"),
    path("new/field/", v.field_row, name="field-row"),
    path("new/domaindata/", v.domaindata_options, name="domaindata"),
    path("track/", v.track, name="track"),
    path("<slug:connection>/<str:job_id>/act/<slug:action>/", v.act, name="act"),
    path("<slug:connection>/<str:job_id>/act/", v.buttons, name="buttons"),
]
