from django.urls import path, re_path

from . import views
from .feeds import LatestIncidentsFeed

app_name = "incidents"
urlpatterns = [
    path("incidents/", views.incident_list, name="incident_list"),
    re_path(
        r"^incidents/export\.(?P<fmt>csv|json|stix\.json)$",
        views.incident_export,
        name="incident_export",
    ),
    path("incidents/feed/", LatestIncidentsFeed(), name="incident_feed"),
    path("incidents/<slug:slug>/", views.incident_detail, name="incident_detail"),
    path("incidents/<slug:slug>/attack-layer.json", views.incident_layer, name="incident_layer"),
    path("browse/", views.browse_index, name="browse"),
    path("statistics/", views.statistics, name="statistics"),
    path("statistics/<slug:chart>.csv", views.statistics_csv, name="statistics_csv"),
    path("statistics/attack-layer.json", views.statistics_layer, name="statistics_layer"),
    path("organisations/", views.organisation_list, name="organisation_list"),
    path("organisations/<slug:slug>/", views.organisation_detail, name="organisation_detail"),
    path("actors/", views.actor_list, name="actor_list"),
    path("actors/<slug:slug>/", views.actor_detail, name="actor_detail"),
    path("actors/<slug:slug>/attack-layer.json", views.actor_layer, name="actor_layer"),
]
