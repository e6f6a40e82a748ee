from django.urls import path, re_path

from . import views
from .exports import snapshot
from .feeds import LatestIncidentsFeed, SavedSearchFeed
from .views import exportjobs, searches, snapshots, watches

app_name = "incidents"
urlpatterns = [
    path("incidents/", views.incident_list, name="incident_list"),
    re_path(
        r"^incidents/export\.(?P<fmt>csv|json|stix\.json)$",
        views.incident_export,
        name="incident_export",
    ),
    # The whole public catalogue as one file (incidents.views.snapshots).
    re_path(
        rf"^data/incidents\.(?P<fmt>{'|'.join(snapshot.FORMATS)})$",
        snapshots.public_snapshot,
        name="public_snapshot",
    ),
    # Emailed exports (incidents.views.exportjobs): ask, the account's list, the link.
    path("incidents/export/email/", exportjobs.export_email, name="export_email"),
    path("accounts/exports/", exportjobs.export_jobs, name="export_jobs"),
    path("exports/download/<str:token>/", exportjobs.export_download, name="export_download"),
    path("incidents/feed/", LatestIncidentsFeed(), name="incident_feed"),
    path("incidents/<slug:slug>/", views.incident_detail, name="incident_detail"),
    # Saved searches (incidents.views.searches), on the account pages.
    path("accounts/searches/", searches.saved_searches, name="saved_searches"),
    path(
        "accounts/searches/<int:pk>/",
        searches.saved_search_update,
        name="saved_search_update",
    ),
    path(
        "accounts/searches/<int:pk>/delete/",
        searches.saved_search_delete,
        name="saved_search_delete",
    ),
    path(
        "accounts/searches/<int:pk>/feed/",
        searches.saved_search_new_feed,
        name="saved_search_new_feed",
    ),
    path("searches/feed/<str:token>/", SavedSearchFeed(), name="saved_search_feed"),
    # Watched organisations (incidents.views.watches): a saved search of their own kind.
    path("accounts/watches/", watches.watch_list, name="watches"),
    path("accounts/watches/alerts/", watches.watch_alerts, name="watch_alerts"),
    path("accounts/watches/<int:pk>/remove/", watches.watch_remove, name="watch_remove"),
    path("alerts/unsubscribe/<str:token>/", searches.unsubscribe, name="unsubscribe"),
    path("incidents/<slug:slug>/attack-layer.json", views.incident_layer, name="incident_layer"),
    path("browse/", views.browse_index, name="browse"),
    path("browse/countries/", views.browse_countries, name="browse_countries"),
    re_path(r"^countries/(?P<code>[A-Za-z]{2})/$", views.country_hub, name="country_hub"),
    path("sectors/<slug:slug>/", views.sector_hub, name="sector_hub"),
    path("types/<slug:slug>/", views.type_hub, name="type_hub"),
    path("years/<int:year>/", views.year_hub, name="year_hub"),
    path("attack/", views.attack_index, name="attack_index"),
    path("attack/tactics/<slug:shortname>/", views.tactic_hub, name="tactic_hub"),
    re_path(
        r"^attack/techniques/(?P<attack_id>T[0-9]{4}(?:\.[0-9]{3})?)/$",
        views.technique_hub,
        name="technique_hub",
    ),
    path("statistics/", views.statistics, name="statistics"),
    path("statistics/<slug:chart>.csv", views.statistics_csv, name="statistics_csv"),
    path("statistics/attack-layer.json", views.statistics_layer, name="statistics_layer"),
    path("organisations/", views.organisation_list, name="organisation_list"),
    path("organisations/<slug:slug>/", views.organisation_detail, name="organisation_detail"),
    path("actors/", views.actor_list, name="actor_list"),
    path("actors/<slug:slug>/", views.actor_detail, name="actor_detail"),
    path("actors/<slug:slug>/attack-layer.json", views.actor_layer, name="actor_layer"),
]
