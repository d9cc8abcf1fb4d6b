"""/alerts/: incidents and delivery log, channels, rules, "notify me" subscriptions."""

from django.urls import path

from alerts import views

app_name = "alerts"

urlpatterns = [
    path("", views.alerts_home, name="home"),
    path("channels/", views.channel_list, name="channels"),
    path("channels/new/", views.channel_edit, name="channel_add"),
    path("channels/<slug:name>/edit/", views.channel_edit, name="channel_edit"),
    path("channels/<slug:name>/delete/", views.channel_delete, name="channel_delete"),
    path("channels/<slug:name>/test/", views.channel_test, name="channel_test"),
    path("rules/", views.rule_list, name="rules"),
    path("rules/new/", views.rule_edit, name="rule_add"),
    path("rules/<slug:name>/edit/", views.rule_edit, name="rule_edit"),
    path("rules/<slug:name>/delete/", views.rule_delete, name="rule_delete"),
    path("mine/", views.my_subscriptions, name="mine"),
    path("notify/<slug:connection>/<str:job_id>/", views.notify_toggle, name="notify"),
]
