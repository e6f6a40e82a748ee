"""/api/v1/ answers an index of the API, and any address under it that names no endpoint a
JSON 404, never the site's HTML page (issue 25)."""

import pytest
from django.test import Client

from .helpers import api_get

pytestmark = pytest.mark.django_db


def test_the_index_links_the_docs_the_schema_and_every_collection(settings):
    response = api_get("/api/v1/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    site = settings.SITE_URL
    assert body["docs"] == f"{site}/api/v1/docs"
    assert body["schema"] == f"{site}/api/v1/openapi.json"
    assert body["endpoints"]["incidents"] == f"{site}/api/v1/incidents"
    assert set(body["endpoints"]) == {
        "incidents",
        "organisations",
        "threat_actors",
        "techniques",
        "statistics",
    }
    for address in body["endpoints"].values():
        answer = api_get(address.removeprefix(site))
        assert answer.status_code in (200, 403), address  # techniques: members only
    assert "private" in response["Cache-Control"]


@pytest.mark.parametrize(
    "path", ["/api/v1/nothing", "/api/v1/incidents/a/b/c", "/api/v1/incidents/"]
)
def test_an_unknown_address_under_the_api_is_a_json_404(path):
    response = Client().get(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert "no such address" in response.json()["detail"]


def test_the_index_and_the_404_answer_head_and_refuse_other_methods():
    head = Client().head("/api/v1/")
    assert head.status_code == 200 and head.content == b""
    assert int(head["Content-Length"]) > 0
    assert Client().head("/api/v1/nothing").status_code == 404
    refused = Client().post("/api/v1/")
    assert refused.status_code == 405 and refused["Allow"] == "GET, HEAD"
