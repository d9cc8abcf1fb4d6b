from django.urls import path

from network import views

app_name = "network"

urlpatterns = [
    path("network/", views.network, name="network"),
    path("network/nodes/<slug:connection>/<str:domain_id>/", views.node_detail, name="node"),
    path(
        "network/routes/<slug:connection>/<str:source>/<str:destination>/",
        views.route_detail,
        name="route",
    ),
    path("data/", views.data_list, name="data"),
    path(
        "data/<slug:connection>/<str:domain_id>/<str:domaindata_id>/",
        views.data_detail,
        name="data_item",
    ),
]
