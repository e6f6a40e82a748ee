from django.urls import path

from . import views
from .selfserve import views as selfserve_views
from .teams import views as team_views

app_name = "accounts"
urlpatterns = [
    path("membership/", views.membership, name="membership"),
    path("tokens/", views.api_tokens, name="api_tokens"),
    path("tokens/<int:token_id>/revoke/", views.revoke_api_token, name="revoke_api_token"),
]

# Self-service (accounts.selfserve).
urlpatterns += [
    path("invoice/", selfserve_views.invoice_request, name="invoice_request"),
    path("trial/", selfserve_views.start_trial, name="start_trial"),
    path("data/", selfserve_views.my_data, name="my_data"),
    path("delete/", selfserve_views.delete_account, name="delete_account"),
]

# Teams (accounts.teams).
urlpatterns += [
    path("team/", team_views.team, name="team"),
    path("team/join/<str:token>/", team_views.join, name="team_join"),
]
