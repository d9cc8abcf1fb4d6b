from django.urls import path

from network import views, views_data

app_name = "network"

ITEM = "data/<slug:connection>/<str:domain_id>/<str:domaindata_id>/"

urlpatterns = [
    path("network/", views.network, name="network"),
    path("network/nodes/<slug:connection>/<str:domain_id>/", views.node_detail, name="node"),
    path(
        "network/routes/<slug:connection>/<str:source>/<str:destination>/",
        views.route_detail,
        name="route",
    ),
    path("data/", views.data_list, name="data"),
    path("data/new/", views_data.register, name="data_new"),
    path(ITEM, views.data_detail, name="data_item"),
    path(ITEM + "edit/", views_data.edit, name="data_edit"),
    path(ITEM + "delete/", views_data.delete, name="data_delete"),
    path(ITEM + "grants/", views_data.grant, name="data_grant"),
    path(ITEM + "grants/<str:grant_id>/revoke/", views_data.revoke, name="data_revoke"),
]
